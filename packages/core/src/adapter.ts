import type pg from 'pg';
import { ErrorCodes, TenantryError } from './errors.js';
import { currentContext, type TenantContext } from './tenant-context.js';
import type { QueryConfig } from './tenant-query.js';
import type { TenantDb, UnitOfWorkOptions } from './unit-of-work.js';

/**
 * The contract between Tenantry and an ORM adapter (`@tenantry/typeorm`, `@tenantry/drizzle`…).
 *
 * An adapter does two things: it binds a unit of work ({@link TenantDb}) to the ORM's handle, so
 * that application code uses its ORM as usual and every statement runs in the tenant; and it
 * reads the ORM's migrations as a {@link MigrationSource}. Core imports no ORM: ORMs are given
 * the structural, `pg`-shaped {@link OrmClient} and {@link OrmPool} defined here.
 *
 * Transactions: ORMs speak SQL to control them (`BEGIN`, `SAVEPOINT x`, `COMMIT`…). The
 * {@link OrmClient} maps those statements onto the unit of work's own `db.transaction()` stack,
 * so an ORM transaction opened inside `db.transaction()` becomes a savepoint, a failed statement
 * makes `COMMIT` throw `TRANSACTION_ABORTED` instead of silently rolling back, and `BEGIN`
 * travels with the first statement (no extra round trip).
 */

/** What an adapter's ORM can do through Tenantry. */
export interface AdapterCapabilities {
  /** The ORM's own transaction API works inside units of work (mapped onto `db.transaction()`). */
  readonly transactions: boolean;
  /** Nested ORM transactions become savepoints. */
  readonly savepoints: boolean;
  /**
   * Where tenant migrations come from: `sql` — SQL files the ORM's tool generates (drizzle-kit);
   * `orm` — the ORM's migration classes, turned into SQL by the adapter (TypeORM); `none`.
   */
  readonly migrations: 'sql' | 'orm' | 'none';
  /** ORM transactions may ask for an isolation level or access mode. Not yet: units of work use the server default. */
  readonly isolationLevels: boolean;
}

/**
 * An ORM adapter: the ORM's handle for one unit of work, or for the current context.
 *
 * @example
 * await tenancy.withTenant('acme', async (db) => {
 *   const em = typeorm.bind(db); // an EntityManager on this unit of work's connection
 *   await em.save(Post, { title: 'Hello' });
 * });
 * await tenancy.run('acme', () => typeorm.current().find(Post)); // one unit of work per operation
 */
export interface TenancyAdapter<Handle> {
  /** The ORM's name, e.g. `typeorm`. */
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  /**
   * The ORM handle bound to one unit of work: every statement on its connection, in its tenant.
   * Valid until the unit of work ends (then every call fails with `UNIT_OF_WORK_CLOSED`).
   */
  bind(db: TenantDb): Handle;
  /**
   * The handle for the current async context: statements join the current unit of work when
   * there is one (inside `tenancy.withTenant()`); inside `tenancy.run()` alone, each operation
   * (and each ORM transaction) gets a unit of work of its own. Outside a tenant context every
   * statement fails with `TENANT_REQUIRED`.
   */
  current(): Handle;
}

/** What an adapter needs of a `Tenancy`: units of work for the tenant of the current context. */
export interface UnitOfWorkProvider {
  withTenant<T>(fn: (db: TenantDb) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>;
}

type QueryCallback = (err: Error | null, result?: pg.QueryResult) => void;
type Listener = (...args: unknown[]) => void;

/**
 * The `pg.Client`-shaped client an ORM is given. Every statement runs in the tenant (it is the
 * unit of work's `db.client`); transaction-control statements are mapped onto
 * `db.transaction()`. `release()` does not end the unit of work; event methods are no-ops (the
 * unit of work owns the connection and its errors).
 */
export interface OrmClient {
  query(
    config: string | QueryConfig,
    values?: readonly unknown[] | QueryCallback,
    callback?: QueryCallback,
  ): Promise<pg.QueryResult> | undefined;
  query<S extends { submit(connection: unknown): void }>(submittable: S): S;
  release(err?: Error | boolean): void;
  escapeIdentifier(value: string): string;
  escapeLiteral(value: string): string;
  on(event: string, listener: Listener): this;
  once(event: string, listener: Listener): this;
  off(event: string, listener: Listener): this;
  removeListener(event: string, listener: Listener): this;
}

/**
 * The `pg.Pool`-shaped pool an ORM is given (Drizzle recognises it as a pool by its class
 * name). It owns no connection: `connect()` hands out the current unit of work's client, or opens
 * a unit of work for the tenant of the context that lasts until `release()`; `query()` runs on
 * the current unit of work, or in a unit of work of its own.
 */
export interface OrmPool {
  query(
    config: string | QueryConfig,
    values?: readonly unknown[] | QueryCallback,
    callback?: QueryCallback,
  ): Promise<pg.QueryResult> | undefined;
  connect(): Promise<OrmClient>;
  connect(callback: (err: Error | undefined, client: OrmClient | undefined, release: (err?: Error | boolean) => void) => void): void;
  /** No-op: Tenantry's router owns the connections; close the tenancy instead. */
  end(): Promise<void>;
  on(event: string, listener: Listener): this;
  once(event: string, listener: Listener): this;
  off(event: string, listener: Listener): this;
  removeListener(event: string, listener: Listener): this;
}

/**
 * The unit of work of the current async context (inside `tenancy.withTenant()`), if any.
 * With `owner`, only a unit of work opened by that tenancy counts.
 *
 * Needs the unit of work in the tenant context (`TenantContext.db`, set by `withTenant`);
 * until then it returns `undefined` and adapters open units of work of their own.
 */
export function currentUnitOfWork(owner?: object): TenantDb | undefined {
  const ctx: TenantContext | undefined = currentContext();
  if (ctx?.db === undefined) return undefined;
  if (owner !== undefined && ctx.owner !== owner) return undefined;
  return ctx.db;
}

/** The tenancy that entered the current tenant context (`tenancy.run()`, `withTenant()`), if any. */
export function currentTenancyOwner(): object | undefined {
  return currentContext()?.owner;
}

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
 */
class InertEmitter {
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
    if (cb) {
      promise.then(
        (r) => cb(null, r),
        (e: Error) => cb(e),
      );
      return undefined as never;
    }
    return promise as never;
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
 * await tenancy.withTenant('acme', async (db) => {
 *   const orm = drizzle({ client: ormClient(db) });
 *   await orm.transaction(async (tx) => { … }); // BEGIN … COMMIT through db.transaction()
 * });
 */
export function ormClient(db: TenantDb): OrmClient {
  let client = clients.get(db);
  if (client === undefined) {
    client = new UnitOfWorkClient(db);
    clients.set(db, client);
  }
  return client;
}

/** A checked-out client: the unit of work's client with a `release()` that ends what it opened. */
class Checkout extends InertEmitter implements OrmClient {
  readonly #client: OrmClient;
  #end: (() => void) | undefined;

  constructor(client: OrmClient, end: (() => void) | undefined) {
    super();
    this.#client = client;
    this.#end = end;
  }

  query(config: unknown, values?: unknown, callback?: unknown): never {
    return (this.#client.query as (a: unknown, b?: unknown, c?: unknown) => never)(config, values, callback);
  }

  release(): void {
    const end = this.#end;
    this.#end = undefined;
    end?.();
  }

  escapeIdentifier(value: string): string {
    return this.#client.escapeIdentifier(value);
  }

  escapeLiteral(value: string): string {
    return this.#client.escapeLiteral(value);
  }
}

/**
 * A client checked out for an ORM's transaction: of `current` when work is already running in a
 * unit of work (its `release()` then only calls `onRelease`), otherwise of a unit of work
 * `open` starts and holds until `release()` — its transaction commits or rolls back then.
 * `open`'s promise settles when that unit of work has ended.
 */
export function checkOutClient(
  current: TenantDb | undefined,
  open: (fn: (db: TenantDb) => Promise<void>) => Promise<void>,
  onRelease?: () => void,
): Promise<OrmClient> {
  if (current !== undefined) return Promise.resolve(new Checkout(ormClient(current), onRelease));
  return new Promise<OrmClient>((resolve, reject) => {
    let end!: () => void;
    const held = new Promise<void>((r) => (end = r));
    open(async (db) => {
      resolve(new Checkout(ormClient(db), end));
      await held;
    }).catch(reject);
  });
}

/** Options of {@link tenantPool}. */
export interface TenantPoolOptions {
  /** Units of work the pool opens are read-only (and go to the server's replica, when it has one). */
  readonly readOnly?: boolean;
}

/**
 * The pool an ORM is given once, at start, to reach the tenant of whatever context it is used
 * in. See {@link OrmPool}.
 */
class TenantPool extends InertEmitter implements OrmPool {
  readonly #tenancy: UnitOfWorkProvider;
  readonly #options: UnitOfWorkOptions;

  constructor(tenancy: UnitOfWorkProvider, options: TenantPoolOptions) {
    super();
    this.#tenancy = tenancy;
    this.#options = options.readOnly === true ? { readOnly: true } : {};
  }

  query(config: unknown, values?: unknown, callback?: unknown): never {
    if (config !== null && typeof config === 'object' && typeof (config as { submit?: unknown }).submit === 'function') {
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        'cursors and streams need a client: check one out with connect() and open a transaction on it',
      );
    }
    const cb = (typeof values === 'function' ? values : callback) as QueryCallback | undefined;
    const vals = typeof values === 'function' ? undefined : values;
    const run = (client: OrmClient): Promise<pg.QueryResult> =>
      (client.query as (a: unknown, b?: unknown) => Promise<pg.QueryResult>)(config, vals);
    const db = currentUnitOfWork(this.#tenancy);
    const promise = db !== undefined ? run(ormClient(db)) : this.#tenancy.withTenant((uow) => run(ormClient(uow)), this.#options);
    if (cb) {
      promise.then(
        (r) => cb(null, r),
        (e: Error) => cb(e),
      );
      return undefined as never;
    }
    return promise as never;
  }

  connect(callback?: (err: Error | undefined, client: OrmClient | undefined, release: (err?: Error | boolean) => void) => void): never {
    const promise = this.#checkout();
    if (callback) {
      promise.then(
        (client) => callback(undefined, client, () => client.release()),
        (err: Error) => callback(err, undefined, () => undefined),
      );
      return undefined as never;
    }
    return promise as never;
  }

  #checkout(): Promise<OrmClient> {
    return checkOutClient(currentUnitOfWork(this.#tenancy), (fn) => this.#tenancy.withTenant(fn, this.#options));
  }

  async end(): Promise<void> {
    // Tenantry's router owns the connections.
  }
}

/**
 * A `pg.Pool`-shaped pool over the tenancy's units of work, to give an ORM once at start.
 * It opens no connection of its own: every statement is routed by Tenantry to the tenant of the
 * current context, within the server's connection budget, in schema and database mode alike.
 *
 * Pitfall: a client checked out with `connect()` outside a unit of work holds one until
 * `release()` — exactly like a pooled `pg` client; ORMs release theirs.
 *
 * @example
 * const pool = tenantPool(tenancy);
 * await tenancy.run('acme', () => pool.query('select * from posts')); // a unit of work of its own
 */
export function tenantPool(tenancy: UnitOfWorkProvider, options: TenantPoolOptions = {}): OrmPool {
  return new TenantPool(tenancy, options);
}
