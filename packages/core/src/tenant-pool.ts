import type pg from 'pg';
import { currentUnitOfWork, type OrmClient, type OrmPool, type QueryCallback, type UnitOfWorkProvider } from './adapter.js';
import { ErrorCodes, TenantryError } from './errors.js';
import { callbackOrPromise, InertEmitter, ormClient } from './orm-client.js';
import type { TenantDb, UnitOfWorkOptions } from './unit-of-work.js';

/**
 * The `pg.Pool`-shaped pool an ORM is given once, at start ({@link tenantPool}), and the one
 * place where an ORM checks a client out ({@link checkOutClient}).
 *
 * An ORM expects to own a pool; under Tenantry it must not — the router owns the connections,
 * within each server's budget, and a connection carries a tenant only inside a unit of work.
 * So this pool owns nothing and decides, per call, which unit of work the ORM's work joins:
 *
 *   inside `tenancy.withTenant()`   the current unit of work (its `ormClient`), every time
 *   inside `tenancy.run()` alone    `query()` opens a unit of work for that one statement;
 *                                   `connect()` opens one held until the client's `release()`,
 *                                   so an ORM transaction on it commits or rolls back then
 *   outside a tenant context        the unit of work cannot open: `TENANT_REQUIRED`
 *
 * Adapters that cannot use this pool as is (Prisma's per-tenant pools) call
 * {@link checkOutClient} for their `connect()`, so releasing a client works the same for every
 * ORM.
 */

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
    return callbackOrPromise(promise, cb) as never;
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
 * ```ts
 * const pool = tenantPool(tenancy);
 * await tenancy.run('acme', () => pool.query('select * from posts')); // a unit of work of its own
 * ```
 */
export function tenantPool(tenancy: UnitOfWorkProvider, options: TenantPoolOptions = {}): OrmPool {
  return new TenantPool(tenancy, options);
}
