import type pg from 'pg';
import { currentContext, type TenantContext } from './tenant-context.js';
import type { QueryConfig } from './tenant-query.js';
import type { TenantDb, UnitOfWorkOptions } from './unit-of-work.js';

/**
 * The contract between Tenantry and an ORM adapter (`@tenantry/typeorm`, `@tenantry/drizzle`…).
 *
 * An adapter does two things: it binds a unit of work ({@link TenantDb}) to the ORM's handle, so
 * that application code uses its ORM as usual and every statement runs in the tenant; and it
 * reads the ORM's migrations as a `MigrationSource`. Core imports no ORM: this file describes,
 * as structural `pg`-shaped types, the client ({@link OrmClient}) and pool ({@link OrmPool}) an
 * ORM is given, and what an adapter needs of a `Tenancy` ({@link UnitOfWorkProvider}) — so an
 * adapter package depends on these types, never on `Tenancy`'s internals.
 *
 * Only the contract lives here. The client is made in `orm-client.ts` (which also maps the
 * ORM's `BEGIN`/`SAVEPOINT`/`COMMIT` onto `db.transaction()`), the pool in `tenant-pool.ts`,
 * and "which adapter belongs to the current tenancy" in `adapter-registry.ts`. Adapter authors
 * import all of them from `@tenantry/core/adapter`.
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
 * ```ts
 * await tenancy.withTenant('acme', async (db) => {
 *   const em = typeorm.bind(db); // an EntityManager on this unit of work's connection
 *   await em.save(Post, { title: 'Hello' });
 * });
 * await tenancy.run('acme', () => typeorm.current().find(Post)); // one unit of work per operation
 * ```
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

/** The node-style callback of `query()` (pg's callback form). */
export type QueryCallback = (err: Error | null, result?: pg.QueryResult) => void;
/** A listener given to the no-op event methods of {@link OrmClient} and {@link OrmPool}. */
export type Listener = (...args: unknown[]) => void;

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
