import type pg from 'pg';
import type { OrmClient, QueryCallback } from './adapter.js';
import { ErrorCodes, TenantryError } from './errors.js';
import type { QueryConfig } from './tenant-query.js';
import type { TenantDb } from './unit-of-work.js';

/**
 * The `pg.Client`-shaped client an ORM is given for one unit of work ({@link ormClient}).
 *
 * Statements go to the unit of work's `db.client`, so each runs in the tenant. What this file
 * adds is transactions: ORMs control them with SQL (`BEGIN`, `SAVEPOINT x`, `RELEASE x`,
 * `ROLLBACK TO x`, `COMMIT`…), but a unit of work owns its connection and its transaction, and
 * sending those statements raw would let an ORM commit or roll back underneath it. So each
 * transaction-control statement (recognised only when it is short and has no parameters) is
 * mapped onto the unit of work's own `db.transaction()` stack:
 *
 *   BEGIN            opens `db.transaction()` — a savepoint when the unit of work is already in
 *                    one — and holds it open as a frame; it travels with the next statement,
 *                    so it costs no round trip of its own
 *   SAVEPOINT x      opens a nested `db.transaction()` frame named x
 *   RELEASE x        ends the frames down to x, committing them
 *   ROLLBACK TO x    rolls back the frames down to x, then opens x again (PostgreSQL keeps the
 *                    savepoint after ROLLBACK TO)
 *   COMMIT/ROLLBACK  ends every frame; after a failed statement COMMIT rolls back and throws
 *                    `TRANSACTION_ABORTED` instead of reporting success
 *
 * Isolation levels and access modes (`BEGIN ISOLATION LEVEL …`, `SET TRANSACTION …`) are
 * refused with `INVALID_ARGUMENT`: a unit of work's transaction uses the server's defaults.
 * Statements outside any frame, and control statements PostgreSQL would only warn about, go
 * to the connection as they are.
 */

// ---------------------------------------------------------------------------------------------
// Transaction-control statements, as ORMs send them.

const BEGIN = /^\s*(?:begin|start\s+transaction)\b(?:\s+(?:work|transaction)\b)?\s*(.*?)\s*;?\s*$/is;
const COMMIT = /^\s*(?:commit|end)(?:\s+(?:work|transaction))?\s*;?\s*$/i;
const ROLLBACK = /^\s*(?:rollback|abort)(?:\s+(?:work|transaction))?\s*;?\s*$/i;
const SAVEPOINT = /^\s*savepoint\s+("?)([A-Za-z_][A-Za-z0-9_$]*)\1\s*;?\s*$/i;
const RELEASE = /^\s*release(?:\s+savepoint)?\s+("?)([A-Za-z_][A-Za-z0-9_$]*)\1\s*;?\s*$/i;
const ROLLBACK_TO = /^\s*rollback(?:\s+(?:work|transaction))?\s+to(?:\s+savepoint)?\s+("?)([A-Za-z_][A-Za-z0-9_$]*)\1\s*;?\s*$/i;
const SET_TRANSACTION = /^\s*set\s+(?:local\s+)?transaction\b/i;

type Control =
  | { readonly kind: 'begin'; readonly modes: string }
  | { readonly kind: 'commit' }
  | { readonly kind: 'rollback' }
  | { readonly kind: 'savepoint' | 'release' | 'rollback-to'; readonly name: string }
  | { readonly kind: 'set-transaction' };

function control(text: string): Control | undefined {
  if (text.length > 200) return undefined;
  let m = BEGIN.exec(text);
  if (m) return { kind: 'begin', modes: m[1] ?? '' };
  if (COMMIT.test(text)) return { kind: 'commit' };
  if (ROLLBACK.test(text)) return { kind: 'rollback' };
  if ((m = SAVEPOINT.exec(text))) return { kind: 'savepoint', name: m[2]!.toLowerCase() };
  if ((m = RELEASE.exec(text))) return { kind: 'release', name: m[2]!.toLowerCase() };
  if ((m = ROLLBACK_TO.exec(text))) return { kind: 'rollback-to', name: m[2]!.toLowerCase() };
  if (SET_TRANSACTION.test(text)) return { kind: 'set-transaction' };
  return undefined;
}

function unsupportedMode(text: string): TenantryError {
  return new TenantryError(
    ErrorCodes.INVALID_ARGUMENT,
    `'${text.trim()}': transactions in a unit of work use the server's default isolation level and access mode; drop the isolation level from the ORM transaction (or set default_transaction_isolation on the server or role), or use tenancy.withTenant(tenant, fn, { readOnly: true }) for read-only work`,
  );
}

function fakeResult(command: string): pg.QueryResult {
  return { command, rowCount: null, oid: 0, rows: [], fields: [] } as unknown as pg.QueryResult;
}

/** One open ORM transaction or savepoint, held open as a `db.transaction()` call. */
interface Frame {
  /** The ORM's savepoint name; null for the outermost transaction. */
  readonly name: string | null;
  /** Why this transaction cannot run: its statements fail with it, its COMMIT too. */
  readonly refused?: Error;
  end(commit: boolean): Promise<void>;
}

const ROLLBACK_SIGNAL = Symbol('tenantry.rollback');

/** Opens `db.transaction()` (a savepoint when nested) and keeps it open until the frame ends. */
function openFrame(db: TenantDb, name: string | null): Promise<Frame> {
  return new Promise<Frame>((resolveFrame, rejectFrame) => {
    let decide!: (commit: boolean) => void;
    const decided = new Promise<boolean>((r) => (decide = r));
    let done: Promise<void> | undefined;
    const frame: Frame = {
      name,
      async end(commit) {
        decide(commit);
        try {
          await done;
        } catch (err) {
          if (err !== ROLLBACK_SIGNAL) throw err;
        }
      },
    };
    done = db.transaction(async () => {
      resolveFrame(frame);
      if (!(await decided)) throw ROLLBACK_SIGNAL;
    });
    // Before fn ran (the savepoint failed, the unit of work is closed…): opening failed.
    done.catch((err: unknown) => rejectFrame(err));
  });
}

/**
 * ORMs attach listeners ('error', 'notice', …) to clients and pools; Tenantry's connections
 * report their failures through the unit of work, so the listeners are accepted and never called.
 *
 * @internal the base of the clients and the pool core gives ORMs; not exported to adapters.
 */
export class InertEmitter {
  on(): this {
    return this;
  }

  once(): this {
    return this;
  }

  off(): this {
    return this;
  }

  removeListener(): this {
    return this;
  }
}

class UnitOfWorkClient extends InertEmitter implements OrmClient {
  readonly #db: TenantDb;
  readonly #frames: Frame[] = [];

  constructor(db: TenantDb) {
    super();
    this.#db = db;
  }

  query(config: unknown, values?: unknown, callback?: unknown): never {
    const client = this.#db.client;
    if (config !== null && typeof config === 'object' && typeof (config as { submit?: unknown }).submit === 'function') {
      return client.query(config as { submit(connection: unknown): void }) as never;
    }
    const cb = (typeof values === 'function' ? values : callback) as QueryCallback | undefined;
    const vals = typeof values === 'function' ? undefined : (values as readonly unknown[] | undefined);
    const text = typeof config === 'string' ? config : (config as QueryConfig | null)?.text;
    const hasValues =
      (vals !== undefined && vals.length > 0) || (typeof config === 'object' && ((config as QueryConfig).values?.length ?? 0) > 0);
    const ctl = typeof text === 'string' && !hasValues ? control(text) : undefined;
    const refused = this.#frames.at(-1)?.refused;
    let promise: Promise<pg.QueryResult>;
    if (refused !== undefined && (ctl === undefined || ctl.kind === 'savepoint' || ctl.kind === 'set-transaction')) {
      promise = Promise.reject(refused);
    } else if (ctl === undefined) {
      promise = client.query(config as QueryConfig, vals) as Promise<pg.QueryResult>;
    } else {
      promise = this.#control(ctl, text!, () => client.query(config as QueryConfig, vals) as Promise<pg.QueryResult>);
    }
    return callbackOrPromise(promise, cb) as never;
  }

  async #control(ctl: Control, text: string, raw: () => Promise<pg.QueryResult>): Promise<pg.QueryResult> {
    const frames = this.#frames;
    switch (ctl.kind) {
      case 'begin':
        if (frames.length > 0) return await raw(); // PostgreSQL warns and carries on, as it would
        if (ctl.modes !== '') {
          // Refused at its first statement or COMMIT, not here: an ORM that fails to BEGIN may
          // never release its client (Drizzle's pool path), while one whose statement fails
          // rolls back and releases.
          frames.push({ name: null, refused: unsupportedMode(text), end: async () => undefined });
          return fakeResult('BEGIN');
        }
        frames.push(await openFrame(this.#db, null));
        return fakeResult('BEGIN');
      case 'set-transaction':
        throw unsupportedMode(text);
      case 'commit':
      case 'rollback': {
        if (frames.length === 0) return await raw();
        const commit = ctl.kind === 'commit';
        const refusal = frames.find((f) => f.refused !== undefined)?.refused;
        await this.#unwind(0, commit && refusal === undefined);
        if (commit && refusal !== undefined) throw refusal;
        return fakeResult(commit ? 'COMMIT' : 'ROLLBACK');
      }
      case 'savepoint':
        if (frames.length === 0) return await raw();
        frames.push(await openFrame(this.#db, ctl.name));
        return fakeResult('SAVEPOINT');
      case 'release':
      case 'rollback-to': {
        const at = frames.findLastIndex((f) => f.name === ctl.name);
        if (at < 1) return await raw();
        await this.#unwind(at, ctl.kind === 'release');
        if (ctl.kind === 'release') return fakeResult('RELEASE');
        // As in PostgreSQL, the savepoint survives its rollback: the ORM may release it, roll
        // back to it again, or leave it to the COMMIT (Prisma releases it).
        frames.push(await openFrame(this.#db, ctl.name));
        return fakeResult('ROLLBACK');
      }
    }
  }

  /** Ends frames from the innermost down to index `to`, committing (releasing) or rolling back. */
  async #unwind(to: number, commit: boolean): Promise<void> {
    let failure: unknown;
    while (this.#frames.length > to) {
      const frame = this.#frames.pop()!;
      try {
        // After a failure further down the stack, what is left can only roll back.
        await frame.end(commit && failure === undefined);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  release(): void {
    // The unit of work owns the connection.
  }

  escapeIdentifier(value: string): string {
    return this.#db.client.escapeIdentifier(value);
  }

  escapeLiteral(value: string): string {
    return this.#db.client.escapeLiteral(value);
  }
}

const clients = new WeakMap<TenantDb, UnitOfWorkClient>();

/**
 * The client to give an ORM for one unit of work. One per unit of work, so that every ORM
 * handle bound to it shares one transaction stack.
 *
 * @example
 * ```ts
 * await tenancy.withTenant('acme', async (db) => {
 *   const orm = drizzle({ client: ormClient(db) });
 *   await orm.transaction(async (tx) => { … }); // BEGIN … COMMIT through db.transaction()
 * });
 * ```
 */
export function ormClient(db: TenantDb): OrmClient {
  let client = clients.get(db);
  if (client === undefined) {
    client = new UnitOfWorkClient(db);
    clients.set(db, client);
  }
  return client;
}

/**
 * pg's two calling styles in one place: with a node-style callback, the result goes to it and
 * the call returns `undefined` (as `pg.Client.query(text, values, cb)` does); without one, the
 * promise is returned.
 */
export function callbackOrPromise<T>(
  promise: Promise<T>,
  cb: ((err: Error | null, result?: T) => void) | undefined,
): Promise<T> | undefined {
  if (cb === undefined) return promise;
  promise.then(
    (r) => cb(null, r),
    (e: Error) => cb(e),
  );
  return undefined;
}
