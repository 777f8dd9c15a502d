import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { DrizzleConfig } from 'drizzle-orm';
import { ErrorCodes, TenantryError, type TenantDb } from '@tenantry/core';
import {
  adapterRegistry,
  ormClient,
  tenantPool,
  type AdapterCapabilities,
  type OrmPool,
  type TenancyAdapter,
  type UnitOfWorkProvider,
} from '@tenantry/core/adapter';
import { currentTenant, type Tenant } from '@tenantry/core';
import type { Cache } from 'drizzle-orm/cache/core';
import { tenantKeyed } from './drizzle-result-cache.js';

/** A Drizzle database over Tenantry (node-postgres driver). */
export type TenantDrizzle<TSchema extends Record<string, unknown> = Record<string, never>> = NodePgDatabase<TSchema>;

/** Options of {@link drizzleTenancy}: Drizzle's own (`schema`, `logger`, `casing`, `cache`). */
export type DrizzleTenancyOptions<TSchema extends Record<string, unknown> = Record<string, never>> = DrizzleConfig<TSchema>;

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  transactions: true,
  savepoints: true,
  migrations: 'sql',
  isolationLevels: false,
});

/**
 * Drizzle on Tenantry. {@link DrizzleAdapter.db} is one Drizzle database for the whole
 * application: each of its statements runs in the tenant of the current context, joining the
 * current unit of work or (inside `tenancy.run()`) in one of its own; `db.transaction()` holds
 * one unit of work for the transaction. It owns no connection: Tenantry's router does, within
 * each server's budget, for schema and database tenants alike.
 *
 * Create it with {@link drizzleTenancy}.
 */
export class DrizzleAdapter<TSchema extends Record<string, unknown> = Record<string, never>> implements TenancyAdapter<
  TenantDrizzle<TSchema>
> {
  readonly name = 'drizzle';
  readonly capabilities = CAPABILITIES;
  /** The application's Drizzle database, bound to the tenant of whatever context it is used in. */
  readonly db: TenantDrizzle<TSchema>;
  /** The pool {@link db} runs on. */
  readonly pool: OrmPool;
  readonly #config: DrizzleTenancyOptions<TSchema>;
  readonly #bound = new WeakMap<TenantDb, TenantDrizzle<TSchema>>();

  /** @internal use {@link drizzleTenancy}. */
  constructor(pool: OrmPool, config: DrizzleTenancyOptions<TSchema>) {
    this.pool = pool;
    this.#config = config;
    // The pool runs each statement in the tenant of the current context: so is the cache keyed.
    this.db = drizzle({ ...config, ...cacheOption(config, currentTenant), client: pool as never });
  }

  /**
   * A Drizzle database on one unit of work's connection: every statement in its tenant, its
   * `transaction()` a transaction (or savepoint) of the unit of work.
   *
   * @example
   * ```ts
   * await tenancy.withTenant('acme', async (uow) => {
   *   const db = adapter.bind(uow);
   *   await db.transaction(async (tx) => { await tx.insert(posts).values({ title: 'Hi' }); });
   * });
   * ```
   */
  bind(uow: TenantDb): TenantDrizzle<TSchema> {
    let db = this.#bound.get(uow);
    if (db === undefined) {
      db = drizzle({ ...this.#config, ...cacheOption(this.#config, () => uow.tenant), client: ormClient(uow) as never });
      this.#bound.set(uow, db);
    }
    return db;
  }

  /** {@link db}: statements in the tenant of the current context. */
  current(): TenantDrizzle<TSchema> {
    return this.db;
  }
}

/** Drizzle's `cache` option, keyed by the tenant `tenant()` gives (see drizzle-result-cache.ts). */
function cacheOption(config: DrizzleConfig<Record<string, unknown>>, tenant: () => Tenant | undefined): { cache?: Cache } {
  const cache = tenantKeyed(config.cache, tenant);
  return cache === undefined ? {} : { cache };
}

const adapters = adapterRegistry<DrizzleAdapter<Record<string, unknown>>>({
  orm: 'Drizzle',
  setup: 'drizzleTenancy(tenancy, { schema })',
  instead: 'adapter.db',
});

/**
 * Sets Drizzle up on a tenancy, once at start. Tables are declared with `pgTable()` (no
 * `pgSchema()`): Tenantry puts each statement in its tenant.
 *
 * Drizzle's `cache` option is accepted and keyed by tenant: every key, tag and table name the
 * cache sees is prefixed with the tenant's id, so a tenant is only answered from its own cached
 * results, and a cached query outside a tenant context throws `TENANT_REQUIRED`.
 *
 * @example
 * ```ts
 * const { db } = drizzleTenancy(tenancy, { schema });
 * await tenancy.run('acme', () => db.select().from(posts));
 * ```
 */
export function drizzleTenancy<TSchema extends Record<string, unknown> = Record<string, never>>(
  tenancy: UnitOfWorkProvider,
  config: DrizzleTenancyOptions<TSchema> = {},
): DrizzleAdapter<TSchema> {
  if (config === null || typeof config !== 'object')
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'drizzleTenancy(tenancy, config?) takes Drizzle options such as { schema }');
  if ('client' in config || 'connection' in config) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      "drizzleTenancy() takes no 'client' or 'connection': Tenantry supplies the connections",
    );
  }
  const adapter = new DrizzleAdapter<TSchema>(tenantPool(tenancy), Object.freeze({ ...config }));
  adapters.register(tenancy, adapter as unknown as DrizzleAdapter<Record<string, unknown>>);
  return adapter;
}

/**
 * The Drizzle database for the tenant of the current context (`tenancy.run()`,
 * `tenancy.withTenant()`, or Tenantry's NestJS middleware): the adapter's {@link DrizzleAdapter.db}.
 * It resolves the tenant at each statement, so it may be kept and used in any request.
 *
 * @example
 * ```ts
 * await tenancy.run('acme', () => tenantDb<typeof schema>().select().from(posts));
 * ```
 */
export function tenantDb<TSchema extends Record<string, unknown> = Record<string, never>>(): TenantDrizzle<TSchema> {
  return adapters.forContext().db as unknown as TenantDrizzle<TSchema>;
}
