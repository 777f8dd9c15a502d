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
 * `client`, but its first query goes in one round trip with `leading` in front of it (its own
 * result is returned; a failing leading statement fails it). Later queries go as usual. For
 * code that takes a `Queryable` — e.g. the registry's recording of a new tenant — to ride on
 * the round trip of the statements before it.
 */
export function withLeadingStatements(
  client: { query(q: unknown): unknown } & pg.ClientBase,
  leading: readonly BatchStatement[],
): LeadingBatch {
  let pending: readonly BatchStatement[] | undefined = leading;
  return {
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
      if (pending === undefined) return await client.query<R>(text, values);
      const statements = [...pending, { text, ...(values === undefined ? {} : { values }) }];
      pending = undefined;
      const results = await runBatch(client, statements);
      return results.at(-1) as pg.QueryResult<R>;
    },
    async flush(): Promise<void> {
      if (pending === undefined || pending.length === 0) return;
      const statements = pending;
      pending = undefined;
      await runBatch(client, statements);
    },
  };
}
