import { Cache, NoopCache, type MutationOption } from 'drizzle-orm/cache/core';
import type { CacheConfig } from 'drizzle-orm/cache/core/types';
import { entityKind, is, isTable } from 'drizzle-orm';
import { tenantRequired, type Tenant } from '@tenantry/core';

/**
 * Drizzle's result cache (the `cache` option), keyed by tenant.
 *
 * Drizzle keys a cached select by a hash of its SQL and parameters, or by the `tag` the caller
 * gives, and invalidates by table name — all the same in every tenant, since tables carry no
 * schema. {@link TenantKeyedCache} sits between Drizzle and the configured cache and prefixes
 * every key, tag and table name with `tenantry:<tenant id>:` (the immutable id, not the slug).
 * The tenant is the one the statement runs in: the unit of work's for a bound database, the
 * context's for the application's database. With no tenant it throws `TENANT_REQUIRED`
 * rather than answer from the cache.
 */

const SCHEMA = Symbol.for('drizzle:Schema');
const BASE_NAME = Symbol.for('drizzle:BaseName');

/** The prefix of every key of `tenant`. */
export function cacheKeyPrefix(tenant: Tenant): string {
  return `tenantry:${tenant.id}:`;
}

const TENANT_REQUIRED_HINT =
  'Drizzle result cache used outside a tenant context: cached queries are keyed by tenant; run them inside tenancy.run(tenant, fn) or tenancy.withTenant(tenant, fn)';

/** A table's name as Drizzle's own query metadata spells it (`schema.name` or `name`). */
function tableName(table: unknown): string {
  if (!isTable(table)) return String(table);
  const t = table as unknown as Record<symbol, string | undefined>;
  return t[SCHEMA] ? `${t[SCHEMA]}.${t[BASE_NAME]}` : String(t[BASE_NAME]);
}

/** The configured cache, every key and table name prefixed with the tenant of the statement. */
export class TenantKeyedCache extends Cache {
  static override readonly [entityKind]: string = 'TenantryTenantKeyedCache';
  readonly #inner: Cache;
  readonly #tenant: () => Tenant | undefined;

  /**
   * @param inner - the cache given in Drizzle's options.
   * @param tenant - the tenant statements run in, where this cache is used.
   */
  constructor(inner: Cache, tenant: () => Tenant | undefined) {
    super();
    this.#inner = inner;
    this.#tenant = tenant;
  }

  /** The cache being wrapped. */
  get inner(): Cache {
    return this.#inner;
  }

  override strategy(): 'explicit' | 'all' {
    return this.#inner.strategy();
  }

  override async get(key: string, tables: string[], isTag: boolean, isAutoInvalidate?: boolean): Promise<unknown[] | undefined> {
    const p = this.#prefix();
    return (await this.#inner.get(
      p + key,
      tables.map((t) => p + t),
      isTag,
      isAutoInvalidate,
    )) as unknown[] | undefined;
  }

  override async put(hashedQuery: string, response: unknown, tables: string[], isTag: boolean, config?: CacheConfig): Promise<void> {
    const p = this.#prefix();
    await this.#inner.put(
      p + hashedQuery,
      response,
      tables.map((t) => p + t),
      isTag,
      config,
    );
  }

  /** Invalidates the current tenant's entries of these tags and tables (`db.$cache.invalidate()` too). */
  override async onMutate(params: MutationOption): Promise<void> {
    const p = this.#prefix();
    const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const out: MutationOption = {};
    if (params.tags !== undefined) out.tags = list(params.tags).map((t) => p + t);
    if (params.tables !== undefined) out.tables = list<unknown>(params.tables).map((t) => p + tableName(t));
    await this.#inner.onMutate(out);
  }

  #prefix(): string {
    const tenant = this.#tenant();
    if (tenant === undefined) throw tenantRequired(TENANT_REQUIRED_HINT);
    return cacheKeyPrefix(tenant);
  }
}

/** `cache` wrapped by tenant, or as is when there is none to wrap. */
export function tenantKeyed(cache: Cache | undefined, tenant: () => Tenant | undefined): Cache | undefined {
  if (cache === undefined || is(cache, NoopCache) || is(cache, TenantKeyedCache)) return cache;
  return new TenantKeyedCache(cache, tenant);
}
