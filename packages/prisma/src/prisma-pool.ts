import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { QueryConfig as CoreQueryConfig, Tenant, TenantDb } from '@tenantry/core';
import { callbackOrPromise, checkOutClient, currentUnitOfWork, ormClient, type OrmClient } from '@tenantry/core/adapter';

/** What the adapter needs of a `Tenancy`: units of work for a given tenant, and tenant lookups. */
export interface PrismaTenancyHost {
  withTenant<T>(tenant: string, fn: (db: TenantDb) => Promise<T>): Promise<T>;
  resolve(tenant: string | Tenant): Promise<Tenant>;
}

/**
 * The `pg` that `@prisma/adapter-pg` itself loads: `new PrismaPg(pool)` takes an external pool
 * only if it is an instance of *its* `pg.Pool` (otherwise it reads the argument as a config and
 * opens a pool of its own).
 */
const requireHere = createRequire(import.meta.url);
const AdapterPg = createRequire(requireHere.resolve('@prisma/adapter-pg'))('pg') as typeof pg;

/** The unit of work of a bound handle (`adapter.bind(db)`), for the statements it runs. */
export const boundUnitOfWork = new AsyncLocalStorage<TenantDb>();

type QueryConfig = string | CoreQueryConfig;

/** One statement on an ORM client, promise style. */
function send(client: OrmClient, config: QueryConfig): Promise<pg.QueryResult> {
  return (client.query as (config: QueryConfig) => Promise<pg.QueryResult>)(config);
}

/**
 * Where the statements of one tenant's Prisma client go: the unit of work of a bound handle or
 * of the current context when it is this tenant's; otherwise a unit of work of their own for
 * this tenant — whatever tenant the context has. A client never runs a statement in another
 * tenant than its own, so its schema-qualified SQL always matches the connection.
 */
export class TenantRoute {
  readonly tenant: Tenant;
  readonly #host: PrismaTenancyHost;
  /** Statements and checkouts in flight: a client is disconnected only when none is. */
  #active = 0;
  #idle: (() => void) | undefined;

  constructor(host: PrismaTenancyHost, tenant: Tenant) {
    this.#host = host;
    this.tenant = tenant;
  }

  #unitOfWork(): TenantDb | undefined {
    const db = boundUnitOfWork.getStore() ?? currentUnitOfWork(this.#host);
    return db !== undefined && db.tenant.id === this.tenant.id ? db : undefined;
  }

  async query(config: QueryConfig): Promise<pg.QueryResult> {
    this.#active++;
    try {
      const db = this.#unitOfWork();
      if (db !== undefined) return await send(ormClient(db), config);
      return await this.#host.withTenant(this.tenant.id, (uow) => send(ormClient(uow), config));
    } finally {
      this.#settled();
    }
  }

  /** A client for a Prisma transaction (`release()` ends the unit of work it opened). */
  connect(): Promise<OrmClient> {
    this.#active++;
    const settled = (): void => this.#settled();
    return checkOutClient(this.#unitOfWork(), (fn) => this.#host.withTenant(this.tenant.id, fn).finally(settled), settled);
  }

  /** Resolves when no statement or checkout is in flight. */
  whenIdle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.#idle;
      this.#idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  #settled(): void {
    this.#active--;
    if (this.#active === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}

/**
 * A `pg.Pool` (of the `pg` that `@prisma/adapter-pg` uses) that owns no connection: `query()` and
 * `connect()` go to a {@link TenantRoute}. `new PrismaPg(pool, { schema })` takes it as an
 * external pool; `end()` is a no-op. The base pool is never asked for a connection.
 */
class RoutePool extends AdapterPg.Pool {
  readonly #route: TenantRoute;

  constructor(route: TenantRoute) {
    super({ max: 1 });
    this.#route = route;
  }

  override query(config: unknown, values?: unknown, callback?: unknown): never {
    const cb = (typeof values === 'function' ? values : callback) as ((err: Error | null, r?: pg.QueryResult) => void) | undefined;
    const vals = typeof values === 'function' ? undefined : (values as unknown[] | undefined);
    const base = (typeof config === 'string' ? { text: config } : config) as CoreQueryConfig;
    const promise = this.#route.query(vals === undefined ? base : { ...base, values: vals });
    return callbackOrPromise(promise, cb) as never;
  }

  override connect(callback?: unknown): never {
    const promise = this.#route.connect();
    if (typeof callback === 'function') {
      promise.then(
        (client) => callback(undefined, client, () => client.release()),
        (err: Error) => callback(err, undefined, () => undefined),
      );
      return undefined as never;
    }
    return promise as never;
  }

  override end(): never {
    // Tenantry's router owns the connections.
    return Promise.resolve() as never;
  }
}

/** The pool a tenant's `PrismaPg` is given. */
export function routePool(route: TenantRoute): pg.Pool {
  return new RoutePool(route);
}
