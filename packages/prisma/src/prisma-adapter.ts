import { PrismaPg } from '@prisma/adapter-pg';
import { ErrorCodes, TenantryError, invalidArgument, tenantRequired, currentTenant, type Tenant, type TenantDb } from '@tenantry/core';
import { adapterRegistry, type AdapterCapabilities, type TenancyAdapter } from '@tenantry/core/adapter';
import { TenantRoute, boundUnitOfWork, routePool, type PrismaTenancyHost } from './prisma-pool.js';

export type { PrismaTenancyHost } from './prisma-pool.js';

/** What Tenantry needs of a Prisma client: that it can be disconnected when evicted. */
export interface PrismaClientLike {
  $disconnect(): Promise<void>;
}

type PrismaPgOptions = NonNullable<ConstructorParameters<typeof PrismaPg>[1]>;

/** Options of {@link prismaTenancy}. Frozen on construction. */
export interface PrismaTenancyOptions<C extends PrismaClientLike> {
  /**
   * Makes the Prisma client of one tenant from the driver adapter Tenantry gives it — your
   * generated client: `(adapter) => new PrismaClient({ adapter })`. Called once per tenant
   * while its client is cached.
   */
  readonly createClient: (adapter: PrismaPg, tenant: Tenant) => C;
  /** Tenant clients kept at most (least recently used evicted first). Default 50. */
  readonly maxClients?: number;
  /** A client unused this long is evicted. Default 30 minutes. */
  readonly idleTimeoutMs?: number;
  /** Options of `@prisma/adapter-pg` other than the schema (which Tenantry sets per tenant). */
  readonly adapterOptions?: Pick<PrismaPgOptions, 'userDefinedTypeParser'>;
}

/** Figures of the client cache (seed 003's `getStats()`). */
export interface PrismaClientStats {
  readonly clients: number;
  readonly maxClients: number;
  readonly idleTimeoutMs: number;
  /** Slugs of the cached tenants, least recently used first. */
  readonly tenants: readonly string[];
}

interface Entry<C> {
  readonly client: C;
  readonly route: TenantRoute;
  lastUsed: number;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  transactions: true,
  savepoints: true,
  migrations: 'sql',
  isolationLevels: false,
});

const TENANT_REQUIRED_HINT =
  'no tenant in the current context: use the Prisma client inside tenancy.run(tenant, fn) or tenancy.withTenant(tenant, fn), or get one with adapter.forTenant(tenant)';

/**
 * Prisma 7 on Tenantry: one Prisma client per tenant — Prisma schema-qualifies every table, so
 * the tenant's schema is fixed when its client is made (`new PrismaPg(pool, { schema })`) —
 * kept in a bounded LRU cache with an idle timeout, all of them over Tenantry's connections.
 * No client has a pool: `@prisma/adapter-pg` is given a `pg.Pool` whose `query()` and
 * `connect()` are units of work of the client's tenant (the current one when it is that tenant's,
 * else one of their own), so every statement runs in its tenant — schema or database — within
 * each server's connection budget.
 *
 * Create it with {@link prismaTenancy}.
 */
export class PrismaAdapter<C extends PrismaClientLike> implements TenancyAdapter<C> {
  readonly name = 'prisma';
  readonly capabilities = CAPABILITIES;
  /**
   * A client for the tenant of whatever context it is used in: every call resolves the context's
   * tenant — through a model delegate kept from an earlier request (`const posts = client.post`)
   * and through `client.$extends(…)` clients too (the extension is applied to each tenant's own
   * client, once). Keep it, or anything taken from it, in a singleton (a NestJS provider, a
   * service) — no request scope. Outside a tenant context its properties throw
   * `TENANT_REQUIRED`. The only client pinned to one tenant is {@link forTenant}'s.
   */
  readonly client: C;
  readonly #host: PrismaTenancyHost;
  readonly #options: PrismaTenancyOptions<C>;
  readonly #max: number;
  readonly #ttl: number;
  /** In least-recently-used order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Entry<C>>();
  readonly #bound = new WeakMap<TenantDb, C>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  /** @internal use {@link prismaTenancy}. */
  constructor(host: PrismaTenancyHost, options: PrismaTenancyOptions<C>) {
    this.#host = host;
    this.#options = options;
    this.#max = options.maxClients ?? 50;
    this.#ttl = options.idleTimeoutMs ?? 30 * 60_000;
    this.#timer = setInterval(() => this.#sweep(), Math.min(this.#ttl, 60_000));
    this.#timer.unref();
    const current = (): C => {
      const tenant = currentTenant();
      if (tenant === undefined) throw tenantRequired(TENANT_REQUIRED_HINT);
      return this.#clientFor(tenant);
    };
    currentClients.set(this, current);
    this.client = contextClient(current) as C;
  }

  /** The cached client of a resolved tenant (made on first use). */
  #clientFor(tenant: Tenant): C {
    if (this.#closed)
      throw new TenantryError(ErrorCodes.TENANCY_CLOSED, 'the Prisma adapter was closed; make a new one with prismaTenancy()');
    const now = Date.now();
    const hit = this.#entries.get(tenant.id);
    if (hit !== undefined) {
      this.#entries.delete(tenant.id);
      this.#entries.set(tenant.id, hit);
      hit.lastUsed = now;
      return hit.client;
    }
    const route = new TenantRoute(this.#host, tenant);
    const schema = tenant.isolation === 'schema' ? tenant.physicalName : 'public';
    const client = this.#options.createClient(new PrismaPg(routePool(route), { ...this.#options.adapterOptions, schema }), tenant);
    this.#entries.set(tenant.id, { client, route, lastUsed: now });
    while (this.#entries.size > this.#max) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, Entry<C>];
      this.#entries.delete(oldest);
      retire(entry);
    }
    return client;
  }

  /**
   * The client of a tenant (id or slug), resolved and status-checked (`TENANT_NOT_FOUND`,
   * `TENANT_SUSPENDED`…). Its statements run in that tenant in any context.
   *
   * @example
   * ```ts
   * const prisma = await adapter.forTenant('acme');
   * await prisma.journal.count();
   * ```
   */
  async forTenant(tenant: string | Tenant): Promise<C> {
    return this.#clientFor(await this.#host.resolve(tenant));
  }

  /**
   * The tenant's client, with every operation started from it run on one unit of work: its
   * statements on that connection, its `$transaction()` a transaction — or a savepoint — of the
   * unit of work.
   *
   * Pitfall: Prisma batches `findUnique` calls made in the same tick on one client into one
   * query; two bound handles of the same tenant used in the same tick may share one of their
   * units of work for that read.
   *
   * @example
   * ```ts
   * await tenancy.withTenant('acme', (db) => db.transaction(async (tx) => {
   *   await tx.query('update counters set n = n + 1');
   *   await prisma.bind(tx).post.create({ data: { title: 'Hi' } }); // same transaction
   * }));
   * ```
   */
  bind(db: TenantDb): C {
    let bound = this.#bound.get(db);
    if (bound === undefined) {
      bound = bindTo(this.#clientFor(db.tenant), db);
      this.#bound.set(db, bound);
    }
    return bound;
  }

  /** {@link client}: the client of the current context's tenant. */
  current(): C {
    return this.client;
  }

  /** The cache's figures. */
  stats(): PrismaClientStats {
    return {
      clients: this.#entries.size,
      maxClients: this.#max,
      idleTimeoutMs: this.#ttl,
      tenants: [...this.#entries.values()].map((e) => e.route.tenant.slug),
    };
  }

  /** Evicts a tenant's client (e.g. after deleting the tenant). */
  evict(tenantId: string): void {
    const entry = this.#entries.get(tenantId);
    if (entry === undefined) return;
    this.#entries.delete(tenantId);
    retire(entry);
  }

  /** Disconnects every client once its statements have finished. Close it before the tenancy. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map(retire));
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#ttl;
    for (const [id, entry] of this.#entries) {
      if (entry.lastUsed > cutoff) break; // LRU order: the rest were used later
      this.#entries.delete(id);
      void retire(entry);
    }
  }
}

/** What `$extends(extension)` made of each tenant client, per extension: applied once per client. */
const extended = new WeakMap<object, WeakMap<object, object>>();

function extendOnce(client: object, args: unknown[]): object {
  const ext = args[0];
  const apply = () => Reflect.apply((client as { $extends: (...a: unknown[]) => object }).$extends, client, args) as object;
  if (args.length !== 1 || ext === null || (typeof ext !== 'object' && typeof ext !== 'function')) return apply();
  let byExt = extended.get(client);
  if (byExt === undefined) extended.set(client, (byExt = new WeakMap()));
  let made = byExt.get(ext);
  if (made === undefined) byExt.set(ext, (made = apply()));
  return made;
}

/** The value at `path` from `root`, and the object it was read from (the `this` of a call). */
function walk(root: object, path: readonly PropertyKey[]): { parent: object; value: unknown } {
  let parent: object = root;
  let value: unknown = root;
  for (const key of path) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
      throw new TypeError(`cannot read '${String(key)}' of ${String(value)} on the Prisma client`);
    }
    parent = value;
    value = Reflect.get(value, key, value) as unknown;
  }
  return { parent, value };
}

/**
 * Names read from every object by those that handle it without knowing it is a Prisma client:
 * `await` (`then`), NestJS's discovery and lifecycle hooks (`constructor`, `onModuleInit`…),
 * `JSON.stringify` (`toJSON`). A client has no such member, so the top-level context client
 * answers them `undefined` in any context — never `TENANT_REQUIRED` — and Nest can hold it in a
 * singleton provider (`{ provide: PRISMA, useFactory: () => adapter.client }`).
 */
const PROBES: ReadonlySet<PropertyKey> = new Set([
  'then',
  'constructor',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
  'toJSON',
]);

/**
 * `$connect()` / `$disconnect()` on the context client outside a tenant context: nothing to do —
 * Tenantry's router owns the connections and each tenant client connects on first use (a
 * `PrismaService` calling `this.$connect()` in `onModuleInit`, as Nest's Prisma recipe does).
 */
const CONNECTION_NO_OPS: ReadonlySet<PropertyKey> = new Set(['$connect', '$disconnect']);
const resolved = (): Promise<void> => Promise.resolve();

/**
 * A Prisma client whose tenant is resolved at each call: `resolve()` gives the client of the
 * current context, and whatever is taken from this one — a model delegate, a method, a
 * `$extends(…)` client — is a path replayed on the client `resolve()` gives at call time. So a
 * delegate or an extended client memoised in one request never answers another from its tenant.
 * Reading a property with no tenant in the context throws (as `resolve()` does) at the top
 * level, except {@link PROBES} (`undefined`), symbols (`undefined`) and `$connect`/`$disconnect`
 * (no-ops); further down, only the call does. The top level is a null-prototype object, so a
 * scanner of its prototype's methods (Nest's `MetadataScanner`) finds none to read.
 *
 * @internal used by `tenantPrismaService()`; not exported from the package.
 */
export function contextClient(resolve: () => object, path: readonly PropertyKey[] = []): object {
  const top = path.length === 0;
  const target = top ? (Object.create(null) as object) : (function prismaContextClient() {} as object);
  return new Proxy(target, {
    get(_t, prop) {
      if (top && PROBES.has(prop)) return undefined;
      if (prop === 'then') return undefined; // not a thenable: awaiting it is harmless
      if (typeof prop === 'symbol') {
        if (top && currentTenant() === undefined) return undefined;
        return Reflect.get(walk(resolve(), path).value as object, prop);
      }
      if (top && CONNECTION_NO_OPS.has(prop) && currentTenant() === undefined) return resolved;
      if (prop === '$extends') {
        return (...args: unknown[]) => contextClient(() => extendOnce(walk(resolve(), path).value as object, args));
      }
      if (top || currentTenant() !== undefined) {
        // Plain values (a model's name…) as they are; anything callable or walkable stays lazy.
        const { value } = walk(resolve(), [...path, prop]);
        if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
      }
      return contextClient(resolve, [...path, prop]);
    },
    apply(_t, _this, args) {
      const { parent, value } = walk(resolve(), path);
      if (typeof value !== 'function') throw new TypeError(`'${path.map(String).join('.')}' of the Prisma client is not a function`);
      return Reflect.apply(value, parent, args) as unknown;
    },
    has(_t, prop) {
      if (top && (PROBES.has(prop) || currentTenant() === undefined)) return false;
      return Reflect.has(walk(resolve(), path).value as object, prop);
    },
  });
}

/** Disconnects an evicted client once nothing of it is in flight. */
function retire<C extends PrismaClientLike>(entry: Entry<C>): Promise<void> {
  return entry.route
    .whenIdle()
    .then(() => entry.client.$disconnect())
    .catch(() => undefined);
}

/** Whether a property may be replaced by a proxy (Proxy invariants forbid it for frozen ones). */
function replaceable(target: object, prop: string | symbol): boolean {
  const d = Reflect.getOwnPropertyDescriptor(target, prop);
  return d === undefined || d.configurable === true || d.writable === true || !('value' in d);
}

/** `target`, with every method call — and the promise it returns — run in `db`'s unit of work. */
function bindTo<T extends object>(target: T, db: TenantDb): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (!replaceable(t, prop)) return value;
      if (typeof value === 'function') {
        return (...args: unknown[]) =>
          bindResult(
            boundUnitOfWork.run(db, () => Reflect.apply(value, t, args) as unknown),
            db,
          );
      }
      if (value !== null && typeof value === 'object') return bindTo(value, db);
      return value;
    },
  });
}

/** A Prisma promise is lazy: it runs when `then` is called, so `then` runs in the unit of work. */
function bindResult(result: unknown, db: TenantDb): unknown {
  if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') return result;
  return bindTo(result, db);
}

/** Each adapter's "client of the current tenant", for {@link currentTenantClient}. */
const currentClients = new WeakMap<object, () => PrismaClientLike>();

/**
 * The real client of the current context's tenant, from the Prisma adapter of the context's
 * tenancy — what a `tenantPrismaService()` instance resolves at each call.
 *
 * @internal
 */
export function currentTenantClient(): object {
  if (currentTenant() === undefined) throw tenantRequired(TENANT_REQUIRED_HINT);
  return currentClients.get(adapters.forContext())!();
}

const adapters = adapterRegistry<PrismaAdapter<PrismaClientLike>>({
  orm: 'Prisma',
  setup: 'prismaTenancy(tenancy, { createClient }) (in NestJS: import TenantryPrismaModule.forRoot({ client: PrismaClient }))',
  instead: 'adapter.client',
});

/**
 * Sets Prisma up on a tenancy, once at start. Tenant tables are declared in `schema.prisma`
 * without `@@schema` and with no datasource URL: Tenantry gives each tenant's client its schema
 * (or, for a database tenant, its database's `public`).
 *
 * @example
 * ```ts
 * import { PrismaClient } from './generated/prisma/client.js';
 * const prisma = prismaTenancy(tenancy, { createClient: (adapter) => new PrismaClient({ adapter }) });
 * await tenancy.run('acme', () => tenantPrisma<PrismaClient>().post.findMany());
 * ```
 */
export function prismaTenancy<C extends PrismaClientLike>(tenancy: PrismaTenancyHost, options: PrismaTenancyOptions<C>): PrismaAdapter<C> {
  if (options === null || typeof options !== 'object' || typeof options.createClient !== 'function') {
    throw invalidArgument('prismaTenancy(tenancy, { createClient: (adapter) => new PrismaClient({ adapter }) }) needs createClient');
  }
  for (const [key, value] of [
    ['maxClients', options.maxClients],
    ['idleTimeoutMs', options.idleTimeoutMs],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw invalidArgument(`${key} must be a positive integer`);
  }
  const adapter = new PrismaAdapter<C>(tenancy, Object.freeze({ ...options }));
  adapters.register(tenancy, adapter as unknown as PrismaAdapter<PrismaClientLike>);
  return adapter;
}

/**
 * The Prisma client of the current context (`tenancy.run()`, `tenancy.withTenant()`, or
 * Tenantry's NestJS middleware): the adapter's {@link PrismaAdapter.client}, which resolves the
 * tenant at each call — keeping it, or a delegate taken from it, never pins a tenant. Throws
 * `TENANT_REQUIRED` outside a tenant context. A client of one tenant: `adapter.forTenant(tenant)`.
 *
 * @example
 * ```ts
 * await tenancy.run('acme', () => tenantPrisma<PrismaClient>().journal.findMany());
 * ```
 */
export function tenantPrisma<C extends PrismaClientLike = PrismaClientLike>(): C {
  const tenant = currentTenant();
  if (tenant === undefined) throw tenantRequired(TENANT_REQUIRED_HINT);
  return adapters.forContext().client as unknown as C;
}
