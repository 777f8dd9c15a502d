import type { QueryRunner } from 'typeorm';
import type { QueryResultCache } from 'typeorm/cache/QueryResultCache.js';
import type { QueryResultCacheOptions } from 'typeorm/cache/QueryResultCacheOptions.js';
import { tenantRequired, currentTenant, type Tenant } from '@tenantry/core';

/**
 * TypeORM's result cache, keyed by tenant.
 *
 * TypeORM keys a cached result by the identifier the caller gives (`cache: { id }`) or by the SQL
 * and its parameters — the same in every tenant, since entities carry no schema. Whatever the
 * provider (`db`, `redis`, `ioredis`, a custom `provider`), {@link TenantKeyedResultCache} sits
 * between TypeORM and it and prefixes every identifier and query with `tenantry:<tenant id>:`
 * (the immutable id, not the renamable slug). The tenant is the one of the connection the query
 * runs on — the query runner's unit of work — or, before the runner has connected, the current
 * context's, which is where it will connect. With no tenant, it throws `TENANT_REQUIRED` rather
 * than answer from the cache.
 */

/** The prefix of every key of `tenant`. */
export function cacheKeyPrefix(tenant: Tenant): string {
  return `tenantry:${tenant.id}:`;
}

const TENANT_REQUIRED_HINT =
  'TypeORM result cache used outside a tenant context: cached queries are keyed by tenant; run them inside tenancy.run(tenant, fn) or tenancy.withTenant(tenant, fn)';

interface RunnerInternals {
  databaseConnection?: object;
  databaseConnectionPromise?: Promise<object>;
}

/** Wraps the DataSource's configured cache so that every key carries the tenant. */
export class TenantKeyedResultCache implements QueryResultCache {
  readonly #inner: QueryResultCache;
  readonly #tenantOf: (connection: object) => Tenant | undefined;

  /**
   * @param inner - the provider TypeORM made from the `cache` option.
   * @param tenantOf - the tenant of a connection Tenantry handed to a query runner.
   */
  constructor(inner: QueryResultCache, tenantOf: (connection: object) => Tenant | undefined) {
    this.#inner = inner;
    this.#tenantOf = tenantOf;
  }

  /** The provider being wrapped. */
  get inner(): QueryResultCache {
    return this.#inner;
  }

  connect(): Promise<void> {
    return this.#inner.connect();
  }

  disconnect(): Promise<void> {
    return this.#inner.disconnect();
  }

  synchronize(queryRunner?: QueryRunner): Promise<void> {
    return this.#inner.synchronize(queryRunner);
  }

  async getFromCache(options: QueryResultCacheOptions, queryRunner?: QueryRunner): Promise<QueryResultCacheOptions | undefined> {
    const prefix = cacheKeyPrefix(await this.#tenant(queryRunner));
    return await this.#inner.getFromCache(keyed(options, prefix), queryRunner);
  }

  async storeInCache(
    options: QueryResultCacheOptions,
    savedCache: QueryResultCacheOptions | undefined,
    queryRunner?: QueryRunner,
  ): Promise<void> {
    const prefix = cacheKeyPrefix(await this.#tenant(queryRunner));
    // savedCache is what getFromCache returned: its keys already carry the prefix.
    await this.#inner.storeInCache(keyed(options, prefix), savedCache, queryRunner);
  }

  isExpired(savedCache: QueryResultCacheOptions): boolean {
    return this.#inner.isExpired(savedCache);
  }

  /**
   * Clears the provider's whole store: for `db`, the current tenant's table (the connection's
   * search path); for Redis or a custom provider, every tenant's entries.
   */
  clear(queryRunner?: QueryRunner): Promise<void> {
    return this.#inner.clear(queryRunner);
  }

  /** Removes the current tenant's results cached under these identifiers. */
  async remove(identifiers: string[], queryRunner?: QueryRunner): Promise<void> {
    const prefix = cacheKeyPrefix(await this.#tenant(queryRunner));
    await this.#inner.remove(
      identifiers.map((id) => prefix + id),
      queryRunner,
    );
  }

  async #tenant(queryRunner: QueryRunner | undefined): Promise<Tenant> {
    const runner = queryRunner as unknown as RunnerInternals | undefined;
    const connection = runner?.databaseConnection ?? (await runner?.databaseConnectionPromise);
    const tenant = connection === undefined ? currentTenant() : this.#tenantOf(connection);
    if (tenant === undefined) throw tenantRequired(TENANT_REQUIRED_HINT);
    return tenant;
  }
}

function keyed(options: QueryResultCacheOptions, prefix: string): QueryResultCacheOptions {
  const out: QueryResultCacheOptions = { ...options };
  // TypeORM tests these for truthiness: leave absent ones absent.
  if (options.identifier) out.identifier = prefix + options.identifier;
  if (options.query !== undefined) out.query = prefix + options.query;
  return out;
}
