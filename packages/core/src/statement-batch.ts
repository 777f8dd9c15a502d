import { serialize } from 'pg-protocol';
import type pg from 'pg';
import { PgResult, prepareValue } from './pg-internals.js';

/** One statement of a {@link StatementBatch}: a single SQL statement and its bind parameters. */
export interface BatchStatement {
  readonly text: string;
  readonly values?: readonly unknown[];
}

/** The error of a {@link StatementBatch}, with the index of the statement that failed. */
export type BatchError = Error & { batchIndex?: number };

const SYNC = serialize.sync();

/**
 * Several statements in one round trip: for each, Parse (unnamed)/Bind/Describe/Execute, then
 * ONE `Sync` — a pg "Submittable" (`client.query(new StatementBatch(…))`), like the unit of
 * work's single-Sync batch (tenant-query.ts). For Tenantry's own provisioning statements that do
 * not depend on each other's results: each keeps its bind parameters (nothing is spliced into
 * SQL), and the server answers them in order.
 *
 * Everything before the Sync runs in one implicit transaction unless the batch opens one
 * (`begin`): inside an explicit transaction the batch only adds statements to it. The first
 * statement that fails makes the server skip the rest up to the Sync; the error then carries
 * `batchIndex`, the failing statement's index. Each statement must be ONE statement (the
 * extended protocol refuses a script): migrations and seeds go as simple queries instead.
 *
 * Must not have a `name` property (pg would treat it as a named statement).
 */
export class StatementBatch {
  callback: ((err: Error | null, results?: pg.QueryResult[]) => void) | undefined;
  /** The statements' texts, for logs and traces (pg itself does not read it for a Submittable). */
  readonly text: string;
  /** pg sets the client's type parsers on this (`_result._types`). */
  readonly _result: PgResult;
  readonly #statements: readonly BatchStatement[];
  readonly #mapped: unknown[][];
  readonly #results: PgResult[] = [];
  /** The statement whose answers arrive now. */
  #index = 0;
  #rowError: Error | undefined;

  constructor(statements: readonly BatchStatement[], callback?: (err: Error | null, results?: pg.QueryResult[]) => void) {
    this.#statements = statements;
    this.text = statements.map((s) => s.text).join(';\n');
    this.callback = callback;
    this._result = new PgResult();
    // Map values before anything is written: a throwing toPostgres must not wedge the client.
    this.#mapped = statements.map((s) => (s.values ?? []).map((v) => prepareValue(v)));
  }

  /** Called by pg when the batch reaches the head of the client's queue. */
  submit(connection: { stream: { write(buf: Buffer): boolean } }): Error | null {
    const parts: Buffer[] = [];
    this.#statements.forEach((s, i) => {
      parts.push(
        serialize.parse({ text: s.text, types: [] }),
        serialize.bind({ values: this.#mapped[i] ?? [] }),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({}),
      );
    });
    parts.push(SYNC);
    connection.stream.write(Buffer.concat(parts));
    return null;
  }

  #current(): PgResult {
    let result = this.#results[this.#index];
    if (result === undefined) {
      result = this.#index === 0 ? this._result : new PgResult(undefined, (this._result as unknown as { _types?: unknown })._types);
      this.#results[this.#index] = result;
    }
    return result;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this.#current().addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    if (this.#rowError) return;
    const result = this.#current();
    try {
      result.addRow(result.parseRow(msg.fields));
    } catch (err) {
      this.#rowError = err as Error;
    }
  }

  handleCommandComplete(msg: { text: string }): void {
    this.#current().addCommandComplete(msg);
    this.#index++;
  }

  handleEmptyQuery(): void {
    this.#current();
    this.#index++;
  }

  handlePortalSuspended(): void {
    // Never asked for (Execute with no row limit).
  }

  handleError(err: Error): void {
    const cb = this.callback;
    this.callback = undefined;
    (err as BatchError).batchIndex = this.#index;
    cb?.(err);
  }

  handleReadyForQuery(): void {
    const cb = this.callback;
    this.callback = undefined;
    if (this.#rowError) cb?.(this.#rowError);
    else
      cb?.(
        null,
        this.#statements.map((_, i) => (this.#results[i] ?? new PgResult()) as unknown as pg.QueryResult),
      );
  }

  handleCopyInResponse(connection: { sendCopyFail(message: string): void; sync(): void }): void {
    connection.sendCopyFail('COPY is not supported in a statement batch');
    connection.sync();
  }

  handleCopyData(): void {
    // COPY TO STDOUT data is not collected.
  }
}

/**
 * Sends `statements` in one round trip on `client` (see {@link StatementBatch}) and returns
 * each statement's result. Rejects with the first error, its `batchIndex` set.
 *
 * @example
 * ```ts
 * const [, , row] = await runBatch(client, [{ text: 'begin' }, { text: 'select pg_advisory_xact_lock($1)', values: [42] }, { text: 'select 1 as one' }]);
 * ```
 */
export function runBatch(client: { query(q: unknown): unknown }, statements: readonly BatchStatement[]): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    client.query(new StatementBatch(statements, (err, results) => (err ? reject(err) : resolve(results!))));
  });
}

/** A {@link Queryable}-shaped client whose first query carries statements queued ahead of it. */
export interface LeadingBatch {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Sends the queued statements on their own when no query carried them (a no-op afterwards). */
  flush(): Promise<void>;
}

/**
 * `client`, but its first query goes in one round trip with `leading` in front of it and
 * `trailing` behind it (its own result is returned; a failing leading statement fails it, and a
 * failing first query keeps the trailing ones from running). Later queries go as usual. For
 * code that takes a `Queryable` — e.g. the registry's recording of a new tenant — to ride on
 * the round trip of the statements before it (and of the `COMMIT` after it).
 *
 * Everything else is the client itself (a proxy): a first query that cannot ride in a batch —
 * a script of several statements, a COPY or other submittable, a callback — sends the leading
 * statements on their own first, then goes as usual. (A staging copy's loader gets this client
 * inside the provisioning transaction and streams COPY through it.)
 */
export function withLeadingStatements<C extends { query(q: unknown): unknown } & pg.ClientBase>(
  client: C,
  leading: readonly BatchStatement[],
  trailing: readonly BatchStatement[] = [],
): LeadingBatch & C {
  let pending: readonly BatchStatement[] | undefined = leading.length + trailing.length === 0 ? undefined : leading;
  const flush = async (): Promise<void> => {
    if (pending === undefined) return;
    const statements = pending;
    pending = undefined;
    await runBatch(client, [...statements, ...trailing]);
  };
  const send = (args: unknown[]): unknown => (client.query as (...a: unknown[]) => unknown).apply(client, args);
  // Not async: a COPY (a submittable) must come back as itself, synchronously, to be piped.
  const query = (...args: unknown[]): unknown => {
    if (pending === undefined) return send(args);
    const statements = pending;
    pending = undefined;
    const [text, values] = args;
    if (typeof text === 'string' && args.length <= 2 && (values === undefined ? !text.includes(';') : Array.isArray(values)))
      return runBatch(client, [
        ...statements,
        { text, ...(values === undefined ? {} : { values: values as unknown[] }) },
        ...trailing,
      ]).then((r) => r[statements.length]);
    // Statements after a script or a COPY would have to wait for it: not offered.
    if (trailing.length > 0)
      return Promise.reject(new Error('a query with trailing statements must be one statement (not a script or a COPY)'));
    const leadingDone = runBatch(client, statements);
    // A script: after the leading statements, so that their error is the one reported.
    if (typeof text === 'string' && typeof args.at(-1) !== 'function') return leadingDone.then(() => send(args));
    // A submittable (COPY…) or a callback: queued right behind them (pg runs a client's queries in
    // order); should they fail, the transaction is aborted and this fails too.
    leadingDone.catch(() => undefined);
    return send(args);
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query') return query;
      if (prop === 'flush') return flush;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as LeadingBatch & C;
}
