import { ErrorCodes, TenantryError } from './errors.js';
import { assertDomain, parseTenantRef } from './identifiers.js';
import { silentLogger, type Logger } from './logger.js';
import { ConnectionRouter, type AdminPool, type PoolOptions, type ServerStats } from './connection-router.js';
import { sqlFolder, migrationList, type MigrationSource } from './migrations/migration-source.js';
import { serverUnavailable } from './pg-errors.js';
import { TenantCache, type CacheOptions } from './registry/registry-cache.js';
import { RegistryListener } from './registry/registry-listener.js';
import { migrateRegistry } from './registry/registry-migrations.js';
import { TenantRegistry, type Queryable } from './registry/tenant-registry.js';
import { SchemaIsolation } from './schema-isolation.js';
import { DatabaseIsolation } from './database-isolation.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import { Servers } from './servers.js';
import { ServerRegistry } from './registry/server-registry.js';
import { UrlCipher } from './url-cipher.js';
import { reconcile, lifecycleLockKey, type ReconcileReport } from './reconcile.js';
import { canCreateRoles } from './tenant-roles.js';
import type { IsolationKind } from './types.js';
import { currentContext, enterContext } from './tenant-context.js';
import { Tenants, notFound, type LifecycleStep } from './tenants.js';
import { TenantDb, cleanConnection, type UnitOfWorkOptions } from './unit-of-work.js';
import {
  Migrator,
  type MigrateOptions,
  type MigrationStatusReport,
  type MigrationSummary,
  type RollbackOptions,
} from './migrations/migrator.js';
import { runConcurrently, Semaphore } from './fan-out.js';
import { inTenantTransaction } from './tenant-admin.js';
import { performance } from 'node:perf_hooks';
import type { Tenant } from './types.js';

/** Options of {@link createTenancy}. Frozen on construction. */
export interface TenancyOptions {
  /** URL of the registry (master) database, e.g. `postgres://app:secret@db:5432/app`. */
  readonly registryUrl: string;
  /**
   * Tenant migrations: a folder of `NNNN_name.sql` files, or a {@link MigrationSource}.
   * Applied to every new tenant. Default: none.
   */
  readonly migrations?: string | MigrationSource;
  /** Connections per server. `max` bounds server connections whatever the tenant count. */
  readonly pool?: PoolOptions;
  /** The hard budget of connections per server (same as `pool.max`, which it overrides). */
  readonly maxConnectionsPerServer?: number;
  /** Isolation of new tenants unless `tenants.create()` says otherwise. Default `schema`. */
  readonly defaultIsolation?: IsolationKind;
  /**
   * Key that encrypts server URLs in the registry (AES-256-GCM): 64 hex digits or base64 of
   * 32 bytes. Default: `TENANTRY_ENCRYPTION_KEY`. Needed once servers other than the
   * registry's own are added.
   */
  readonly encryptionKey?: string;
  /**
   * Give every tenant its own NOLOGIN role, owner of its schema or database, switched to for
   * every statement: SQL naming another tenant's tables then fails with a permission error.
   * Needs a superuser or CREATEROLE. Default: on when the role allows it (a warning is logged
   * otherwise); `true` makes a missing privilege an error.
   */
  readonly tenantRoles?: boolean;
  /** Run `reconcile()` at start (finishes or cleans up what killed processes left). Default true. */
  readonly reconcileOnStart?: boolean;
  /**
   * Called when each unit of work ends, for metrics and logs (keep it cheap: it runs on the
   * hot path). `outcome` is `error` when the callback threw.
   */
  readonly onUnitOfWork?: (event: UnitOfWorkEvent) => void;
  /** Called at each step of provisioning and deletion (for logs, metrics, crash tests). */
  readonly onLifecycleStep?: (step: LifecycleStep, tenant: Tenant) => void | Promise<void>;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: Logger;
  /** In-process registry cache. */
  readonly cache?: CacheOptions;
  /**
   * LISTEN for tenant changes made by other processes (one extra connection). Default true.
   * When false, other processes' changes are seen after `cache.ttlMs`.
   */
  readonly listen?: boolean;
  /**
   * Prepare the routing statement once per connection (faster). Set false behind PgBouncer
   * older than 1.21 in transaction mode, which cannot keep prepared statements. Default true.
   */
  readonly preparedStatements?: boolean;
  /**
   * Seed data: a folder of `NNNN_name.sql` files (or a source) run in every new tenant after its
   * migrations, in the same transaction, and on demand with `tenancy.seed()`. Write seeds so
   * that running them twice is harmless (`on conflict do nothing`).
   */
  readonly seeds?: string | MigrationSource;
  /** `application_name` of Tenantry's connections. Default `tenantry`. */
  readonly applicationName?: string;
}

/** One finished unit of work, as `onUnitOfWork` reports it. */
export interface UnitOfWorkEvent {
  readonly tenant: Tenant;
  readonly outcome: 'ok' | 'error';
  readonly readOnly: boolean;
  /** From checkout to release, in milliseconds. */
  readonly durationMs: number;
  readonly error?: unknown;
}

/** Figures for monitoring. */
/** The outcome of a function run in one tenant by `forEachTenant`. */
export interface TenantRunResult<T> {
  readonly tenant: { readonly id: string; readonly slug: string };
  readonly status: 'ok' | 'failed';
  readonly value?: T;
  readonly error?: Error;
  readonly durationMs: number;
}

/** Options of `forEachTenant`, `runSql` and `seed`. */
export interface ForEachTenantOptions {
  /** Tenants at once. Default 4. */
  readonly concurrency?: number;
  /** Ids or slugs; default: every ACTIVE tenant. */
  readonly tenants?: readonly string[];
}

export interface TenancyStats {
  readonly servers: readonly ServerStats[];
  readonly cache: { readonly size: number; readonly listening: boolean };
}

const REGISTRY_SERVER = 'default';

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

/**
 * A running Tenantry: the registry, the tenants API, and units of work routed to tenants.
 * Create it with {@link createTenancy}; close it with {@link Tenancy.close}.
 */
export class Tenancy {
  /** Provisioning and lifecycle of tenants. */
  readonly tenants: Tenants;
  /** The fleet of servers tenants are placed on. */
  readonly servers: Servers;
  /** This registry's identity; its schemas and databases carry `COMMENT 'tenantry:<id>'`. */
  readonly registryId: string;
  readonly #marker: string;
  readonly #router: ConnectionRouter;
  readonly #registry: TenantRegistry;
  readonly #serverRegistry: ServerRegistry;
  readonly #cache: TenantCache;
  readonly #listener: RegistryListener | undefined;
  readonly #strategies: { readonly schema: SchemaIsolation; readonly database: DatabaseIsolation };
  readonly #strategyFor = (kind: IsolationKind): IsolationStrategy => this.#strategies[kind];
  readonly #migrations: MigrationSource;
  readonly #logger: Logger;
  #cipher: UrlCipher | undefined;
  readonly #tenantRoles: boolean;
  readonly #onUnitOfWork: ((event: UnitOfWorkEvent) => void) | undefined;
  readonly #prepare: boolean;
  readonly #migrator: Migrator;
  readonly #seeds: MigrationSource | undefined;
  readonly #lifecycleSlots: Semaphore;
  #closed = false;

  /** @internal use {@link createTenancy}. */
  constructor(parts: {
    router: ConnectionRouter;
    registry: TenantRegistry;
    servers: ServerRegistry;
    cache: TenantCache;
    listener: RegistryListener | undefined;
    migrations: MigrationSource;
    seeds: MigrationSource | undefined;
    logger: Logger;
    prepare: boolean;
    poolMax: number;
    cipher: UrlCipher | undefined;
    registryUrl: string;
    defaultIsolation: IsolationKind;
    onStep: ((step: LifecycleStep, tenant: Tenant) => void | Promise<void>) | undefined;
    tenantRoles: boolean;
    onUnitOfWork: ((event: UnitOfWorkEvent) => void) | undefined;
    registryId: string;
  }) {
    this.#router = parts.router;
    this.#registry = parts.registry;
    this.#serverRegistry = parts.servers;
    this.#cache = parts.cache;
    this.#listener = parts.listener;
    this.#logger = parts.logger;
    this.#prepare = parts.prepare;
    this.#seeds = parts.seeds;
    this.#migrations = parts.migrations;
    this.#cipher = parts.cipher;
    this.#tenantRoles = parts.tenantRoles;
    this.#onUnitOfWork = parts.onUnitOfWork;
    this.registryId = parts.registryId;
    this.#lifecycleSlots = new Semaphore(parts.poolMax - 1);
    const marker = `tenantry:${parts.registryId}`;
    this.#marker = marker;
    this.#strategies = {
      schema: new SchemaIsolation(parts.router, marker),
      database: new DatabaseIsolation(parts.router, parts.logger, marker),
    };
    this.servers = new Servers({
      registry: parts.servers,
      router: parts.router,
      cipher: () => this.#cipher,
      registryUrl: parts.registryUrl,
      logger: parts.logger,
    });
    this.#migrator = new Migrator({
      registry: parts.registry,
      cache: parts.cache,
      router: parts.router,
      strategy: this.#strategyFor,
      source: parts.migrations,
      logger: parts.logger,
      poolMax: parts.poolMax,
      registryServer: REGISTRY_SERVER,
    });
    this.tenants = new Tenants({
      registry: parts.registry,
      registryDb: parts.router.adminSync(REGISTRY_SERVER),
      servers: parts.servers,
      cache: parts.cache,
      router: parts.router,
      schema: this.#strategies.schema,
      database: this.#strategies.database,
      strategy: this.#strategyFor,
      defaultIsolation: parts.defaultIsolation,
      tenantRoles: parts.tenantRoles,
      lifecycle: (tenant, fn) => this.#lifecycle(tenant, fn),
      onStep: parts.onStep,
      migrations: parts.migrations,
      seeds: parts.seeds,
      logger: parts.logger,
      registryServer: REGISTRY_SERVER,
    });
  }

  /**
   * Holds a tenant's lifecycle lock while `fn` provisions or deletes it. A schema tenant in
   * the registry's own database takes it inside its provisioning transaction (`fn` gets the
   * key); every other case holds it in a transaction on a registry connection for the
   * duration, which `fn` gets as `lockDb` for its registry writes (they commit with the lock).
   *
   * Such an operation holds that connection while it needs one more, so at most
   * `pool.max - 1` run at once: they can never all hold one and wait for another.
   */
  async #lifecycle<T>(
    tenant: Tenant,
    fn: (lockInTransaction: string | undefined, lockDb: Queryable | undefined) => Promise<T>,
  ): Promise<T> {
    const key = lifecycleLockKey(tenant.id);
    if (tenant.isolation === 'schema' && tenant.server === REGISTRY_SERVER && tenant.status === 'PROVISIONING')
      return await fn(key, undefined);
    if (tenant.server === REGISTRY_SERVER && this.#router.capacity < 2) {
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        `this needs two connections to the registry's server at once (the tenant's lifecycle lock and its work) but pool.max is ${this.#router.capacity}; raise pool.max to at least 2`,
        { context: { tenant: tenant.slug } },
      );
    }
    return await this.#lifecycleSlots.run(async () => {
      // A transaction-level lock inside an open transaction: it stays on one server connection
      // even behind PgBouncer in transaction mode, and ends with the transaction.
      const client = await this.#router.adminSync(REGISTRY_SERVER).connect();
      let destroy: Error | undefined;
      try {
        await client.query('begin');
        await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
        try {
          return await fn(undefined, client);
        } finally {
          await client.query('commit').catch((e: unknown) => {
            destroy = e as Error;
          });
        }
      } finally {
        this.#router.release(client, destroy);
      }
    });
  }

  /**
   * Finishes or cleans up tenants that killed processes left PROVISIONING or DELETING, and
   * reports schemas and databases that no live tenant owns (never dropping them). Runs at
   * start unless `reconcileOnStart: false`; safe while other processes work.
   */
  async reconcile(): Promise<ReconcileReport> {
    this.#assertOpen();
    return await reconcile({
      registry: this.#registry,
      servers: this.#serverRegistry,
      router: this.#router,
      cache: this.#cache,
      strategy: this.#strategyFor,
      migrations: this.#migrations,
      logger: this.#logger,
      registryServer: REGISTRY_SERVER,
      tenantRoles: this.#tenantRoles,
      marker: this.#marker,
      capacity: this.#router.capacity,
      lifecycleSlot: (fn) => this.#lifecycleSlots.run(fn),
    });
  }

  /**
   * Re-encrypts every stored server URL with `newKey` (64 hex digits or base64 of 32 bytes), in
   * one transaction, and uses it from now on. Restart other processes with the new key.
   * @returns how many URLs were re-encrypted.
   */
  async rotateEncryptionKey(newKey: string): Promise<number> {
    this.#assertOpen();
    const next = UrlCipher.parse(newKey);
    const current = this.#cipher;
    const client = await this.#router.adminSync(REGISTRY_SERVER).connect();
    let count = 0;
    try {
      await client.query('begin');
      const { rows } = await client.query<{ id: string; url: string | null; replica_url: string | null }>(
        'select id, url, replica_url from tenantry.servers order by id for update',
      );
      const reencrypt = (stored: string | null): string | null => {
        if (stored === null) return null;
        count++;
        if (stored.split(':')[1] === next.keyId) return stored;
        if (!current) throw new TenantryError(ErrorCodes.ENCRYPTION_KEY_REQUIRED, 'the current encryption key is needed to rotate it');
        return next.encrypt(current.decrypt(stored));
      };
      for (const r of rows) await this.#serverRegistry.setUrls(client, r.id, reencrypt(r.url), reencrypt(r.replica_url));
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    this.#cipher = next;
    this.#logger.info({ urls: count, keyId: next.keyId }, 'server URLs re-encrypted with a new key');
    return count;
  }

  /**
   * Applies pending migrations to every tenant (or `tenants`), `concurrency` at a time, one
   * transaction per tenant under a per-tenant advisory lock. Never throws for a tenant's
   * failure: returns a result per tenant. Knowing that nothing is pending takes one registry
   * query and no tenant connection.
   *
   * @example
   * const run = await tenancy.migrate({ concurrency: 8, onError: 'continue', onProgress: (p) => bar.update(p.done / p.total) });
   * if (!run.ok) console.table(run.results.filter((r) => r.status === 'failed'));
   */
  async migrate(options: MigrateOptions = {}): Promise<MigrationSummary> {
    this.#assertOpen();
    return await this.#migrator.migrate(options);
  }

  /** Undoes each tenant's last `steps` migrations with their down parts. */
  async rollback(options: RollbackOptions = {}): Promise<MigrationSummary> {
    this.#assertOpen();
    return await this.#migrator.rollback(options);
  }

  /**
   * Accepts the current checksums of already-applied migrations whose files were edited on
   * purpose, clearing `MIGRATION_CHECKSUM_MISMATCH`.
   */
  async repairMigrations(options: { readonly tenants?: readonly string[]; readonly actor?: string } = {}): Promise<MigrationSummary> {
    this.#assertOpen();
    return await this.#migrator.repair(options);
  }

  /** Tenants per version, pending and failed — from the registry alone. */
  async migrationStatus(): Promise<MigrationStatusReport> {
    this.#assertOpen();
    return await this.#migrator.status();
  }

  /**
   * Runs `fn` in a unit of work of each ACTIVE tenant (or of `tenants`), `concurrency` at a
   * time. Never throws for a tenant's failure: returns a result per tenant.
   *
   * @example
   * const counts = await tenancy.forEachTenant(async (db) => (await db.query('select count(*) from posts')).rows[0]);
   */
  async forEachTenant<T>(fn: (db: TenantDb) => Promise<T>, options: ForEachTenantOptions = {}): Promise<TenantRunResult<T>[]> {
    return await this.#eachTenant((t) => this.withTenant(t.id, fn), options);
  }

  async #eachTenant<T>(fn: (tenant: Tenant) => Promise<T>, options: ForEachTenantOptions): Promise<TenantRunResult<T>[]> {
    this.#assertOpen();
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'concurrency must be a positive integer');
    const targets: Tenant[] = [];
    if (options.tenants !== undefined) {
      for (const ref of options.tenants) targets.push(await this.resolve(ref));
    } else {
      let page = await this.tenants.list({ status: 'ACTIVE', limit: 1000 });
      targets.push(...page.items);
      while (page.nextCursor) {
        page = await this.tenants.list({ status: 'ACTIVE', limit: 1000, cursor: page.nextCursor });
        targets.push(...page.items);
      }
    }
    const results: TenantRunResult<T>[] = new Array(targets.length);
    await runConcurrently(targets, concurrency, async (t, i) => {
      const t0 = performance.now();
      const tenant = { id: t.id, slug: t.slug };
      try {
        const value = await fn(t);
        results[i] = { tenant, status: 'ok', value, durationMs: Math.round(performance.now() - t0) };
      } catch (err) {
        results[i] = { tenant, status: 'failed', error: err as Error, durationMs: Math.round(performance.now() - t0) };
      }
    });
    return results;
  }

  /**
   * Runs one SQL statement (with bind parameters) in every ACTIVE tenant; a result per tenant
   * (stancl's `tenants:run`).
   */
  async runSql(
    sql: string,
    values?: readonly unknown[],
    options: ForEachTenantOptions = {},
  ): Promise<TenantRunResult<{ rowCount: number | null; rows: Record<string, unknown>[] }>[]> {
    if (typeof sql !== 'string' || sql.trim() === '')
      throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'runSql() needs an SQL statement');
    return await this.forEachTenant(async (db) => {
      const r = await db.query(sql, values);
      return { rowCount: r.rowCount, rows: r.rows };
    }, options);
  }

  /** Runs the seeds folder in each ACTIVE tenant (or `tenants`), each tenant in one transaction. */
  async seed(options: ForEachTenantOptions = {}): Promise<TenantRunResult<string[]>[]> {
    const source = this.#seeds;
    if (source === undefined) throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'no seeds configured: pass seeds to createTenancy()');
    const seeds = await source.load();
    return await this.#eachTenant(
      (tenant) =>
        inTenantTransaction(this.#router, this.#strategyFor(tenant.isolation), tenant, async (client) => {
          for (const s of seeds) await client.query(s.up);
          return seeds.map((s) => s.name);
        }),
      options,
    );
  }

  /**
   * Runs `fn` with a handle whose every query runs in the tenant's schema, on a connection of
   * the shared pool; the connection goes back clean when `fn` settles. Only `ACTIVE` tenants
   * are reachable (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`, `TENANT_NOT_READY` otherwise).
   * Without a tenant argument, the tenant of the current context is used (`TENANT_REQUIRED`
   * when there is none). Each `db.query` is one round trip and autocommits; use
   * `db.transaction()` to group statements.
   *
   * @example
   * const posts = await tenancy.withTenant('acme', async (db) =>
   *   (await db.query('select * from posts where published = $1', [true])).rows);
   */
  withTenant<T>(tenant: string | Tenant, fn: (db: TenantDb) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>;
  withTenant<T>(fn: (db: TenantDb) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>;
  async withTenant<T>(
    a: string | Tenant | ((db: TenantDb) => Promise<T>),
    b?: ((db: TenantDb) => Promise<T>) | UnitOfWorkOptions,
    c?: UnitOfWorkOptions,
  ): Promise<T> {
    let fn: (db: TenantDb) => Promise<T>;
    let options: UnitOfWorkOptions | undefined;
    let tenant: Tenant;
    if (typeof a === 'function') {
      fn = a;
      options = b as UnitOfWorkOptions | undefined;
      tenant = await this.#fromContext();
    } else {
      if (typeof b !== 'function')
        throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'withTenant(tenant, fn, options?) needs a function as its second argument');
      fn = b;
      options = c;
      tenant = this.#cachedActive(a) ?? (await this.resolve(a));
    }
    const readOnly = options?.readOnly === true;
    const strategy = this.#strategyFor(tenant.isolation);
    const conn = await this.#router.connect(strategy.target(tenant, readOnly));
    const started = this.#onUnitOfWork === undefined ? 0 : performance.now();
    const db = new TenantDb(tenant, conn, strategy.routePrefix(tenant, readOnly), this.#prepare);
    let failure: { error: unknown } | undefined;
    try {
      return await enterContext({ tenant, owner: this, db }, () => {
        const result = fn(db);
        // A lazy thenable (a Drizzle query) runs when awaited: await it inside the context.
        return result instanceof Promise ? result : (async () => await result)();
      });
    } catch (error) {
      failure = { error };
      throw error;
    } finally {
      const closing = db.close();
      if (closing !== undefined) await closing;
      const cleaned = cleanConnection(conn, this.#logger, tenant);
      this.#router.release(conn, cleaned instanceof Promise ? await cleaned : cleaned);
      if (this.#onUnitOfWork !== undefined) {
        const durationMs = performance.now() - started;
        try {
          this.#onUnitOfWork(
            failure
              ? { tenant, outcome: 'error', readOnly, durationMs, error: failure.error }
              : { tenant, outcome: 'ok', readOnly, durationMs },
          );
        } catch (err) {
          this.#logger.warn({ err }, 'onUnitOfWork threw; ignored');
        }
      }
    }
  }

  /**
   * Runs `fn` in the tenant's context (AsyncLocalStorage): `currentTenant()` and
   * `withTenant(fn)` inside it use this tenant. For queues, cron jobs, CLI and tests.
   *
   * @example
   * await tenancy.run('acme', () => sendInvoices());
   */
  async run<T>(tenant: string | Tenant, fn: () => T | Promise<T>): Promise<T> {
    const resolved = await this.resolve(tenant);
    return await enterContext({ tenant: resolved, owner: this }, async () => await fn());
  }

  /**
   * Resolves an id, slug or tenant to the current, routable registry row (cached).
   * Throws `INVALID_TENANT_ID`, `TENANT_NOT_FOUND`, `TENANT_SUSPENDED` or `TENANT_NOT_READY`.
   */
  async resolve(tenant: string | Tenant): Promise<Tenant> {
    this.#assertOpen();
    const input = typeof tenant === 'string' ? tenant : tenant?.id;
    const ref = parseTenantRef(input);
    const trusted = this.#listener === undefined || this.#listener.connected;
    let found = trusted ? this.#cache.get(ref) : undefined;
    if (found === undefined) {
      const epoch = this.#cache.epoch;
      try {
        found = await this.#registry.find(ref, this.#router.adminSync(REGISTRY_SERVER));
      } catch (err) {
        throw err instanceof TenantryError ? err : serverUnavailable(REGISTRY_SERVER, err);
      }
      if (found !== undefined && trusted) this.#cache.set(found, epoch);
    }
    return gate(found, String(input));
  }

  /**
   * Resolves a custom domain (a request's host name) to its routable tenant (cached).
   * Throws `INVALID_DOMAIN`, `TENANT_NOT_FOUND` (no tenant has that domain), or the status
   * errors of {@link Tenancy.resolve}.
   *
   * @example const tenant = await tenancy.resolveDomain(req.hostname);
   */
  async resolveDomain(hostname: string): Promise<Tenant> {
    this.#assertOpen();
    const host = assertDomain(hostname);
    const trusted = this.#listener === undefined || this.#listener.connected;
    let id = trusted ? this.#cache.getDomain(host) : undefined;
    if (id === undefined) {
      const epoch = this.#cache.epoch;
      try {
        id = (await this.#registry.tenantIdForDomain(host, this.#router.adminSync(REGISTRY_SERVER))) ?? null;
      } catch (err) {
        throw err instanceof TenantryError ? err : serverUnavailable(REGISTRY_SERVER, err);
      }
      if (trusted) this.#cache.setDomain(host, id, epoch);
    }
    if (id === null) {
      throw new TenantryError(
        ErrorCodes.TENANT_NOT_FOUND,
        `no tenant has the domain '${host}'; register it with tenancy.tenants.addDomain()`,
        { context: { tenant: host } },
      );
    }
    return await this.resolve(id);
  }

  /**
   * The raw pool of a server, for administrative SQL that is not tenant data (health checks,
   * reports). Queries through it run with the server's default search_path and no tenant —
   * never use it for tenant data; that is what {@link Tenancy.withTenant} is for.
   */
  adminPool(server = REGISTRY_SERVER): AdminPool {
    this.#assertOpen();
    return this.#router.adminSync(server);
  }

  /**
   * Checks that the registry answers (`select 1` through the pool) and returns the round trip
   * in milliseconds. Throws `SERVER_UNAVAILABLE` or `CONNECTION_BUDGET_EXHAUSTED`.
   */
  async ping(): Promise<number> {
    this.#assertOpen();
    const started = performance.now();
    try {
      await this.#router.adminSync(REGISTRY_SERVER).query('select 1');
    } catch (err) {
      throw err instanceof TenantryError ? err : serverUnavailable(REGISTRY_SERVER, err);
    }
    return performance.now() - started;
  }

  /** The tenant from the cache when it is there and ACTIVE (the hot path: no promise); else undefined. */
  #cachedActive(tenant: string | Tenant): Tenant | undefined {
    if (this.#closed || (this.#listener !== undefined && !this.#listener.connected)) return undefined;
    const input = typeof tenant === 'string' ? tenant : tenant?.id;
    if (typeof input !== 'string') return undefined;
    const found = this.#cache.get(parseTenantRef(input));
    return found?.status === 'ACTIVE' ? found : undefined;
  }

  /** Pool and cache figures. */
  stats(): TenancyStats {
    return { servers: this.#router.stats(), cache: { size: this.#cache.size, listening: this.#listener?.connected ?? false } };
  }

  /** Closes the listener and every pool, waiting for running units of work. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener?.close();
    await this.#router.close();
  }

  async #fromContext(): Promise<Tenant> {
    const ctx = currentContext();
    if (ctx === undefined) {
      throw new TenantryError(
        ErrorCodes.TENANT_REQUIRED,
        'no tenant in the current context: pass one to withTenant(tenant, fn), or run inside tenancy.run(tenant, fn)',
      );
    }
    // Re-check the status: the context may be older than a suspension.
    return this.#cachedActive(ctx.tenant.id) ?? (await this.resolve(ctx.tenant.id));
  }

  #assertOpen(): void {
    if (this.#closed) throw new TenantryError(ErrorCodes.TENANCY_CLOSED, 'the tenancy was closed; create a new one with createTenancy()');
  }
}

function gate(tenant: Tenant | undefined, asked: string): Tenant {
  if (tenant === undefined || tenant.status === 'DELETED' || tenant.status === 'DELETING') throw notFound(asked);
  switch (tenant.status) {
    case 'ACTIVE':
      return tenant;
    case 'SUSPENDED':
      throw new TenantryError(
        ErrorCodes.TENANT_SUSPENDED,
        `tenant '${tenant.slug}' is SUSPENDED; resume it with tenancy.tenants.resume('${tenant.slug}')`,
        { context: { tenant: tenant.slug } },
      );
    case 'FAILED':
      throw new TenantryError(
        ErrorCodes.TENANT_NOT_READY,
        `tenant '${tenant.slug}' failed to provision (${tenant.errorMessage ?? 'no detail'}); delete it and create it again`,
        { context: { tenant: tenant.slug } },
      );
    default:
      throw new TenantryError(ErrorCodes.TENANT_NOT_READY, `tenant '${tenant.slug}' is ${tenant.status}; retry in a few seconds`, {
        context: { tenant: tenant.slug, retryAfterSeconds: 5 },
      });
  }
}

/**
 * Starts Tenantry: connects to the registry, brings its schema up to date (safe with many
 * processes starting at once), and listens for changes from other processes.
 *
 * @example
 * const tenancy = await createTenancy({
 *   registryUrl: process.env.DATABASE_URL!,
 *   migrations: './migrations',
 *   pool: { max: 10 },
 * });
 * await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
 * await tenancy.withTenant('acme', (db) => db.query('select * from posts'));
 * await tenancy.close();
 */
export async function createTenancy(options: TenancyOptions): Promise<Tenancy> {
  if (options === null || typeof options !== 'object')
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'createTenancy() takes an options object with at least registryUrl');
  const opts = Object.freeze({ ...options });
  if (typeof opts.registryUrl !== 'string' || !/^postgres(ql)?:\/\//.test(opts.registryUrl)) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      'registryUrl must be a postgres:// URL, e.g. postgres://user:password@localhost:5432/app',
    );
  }
  const logger = opts.logger ?? silentLogger;
  const applicationName = opts.applicationName ?? 'tenantry';
  const migrations =
    opts.migrations === undefined ? migrationList([]) : typeof opts.migrations === 'string' ? sqlFolder(opts.migrations) : opts.migrations;
  const seeds = opts.seeds === undefined ? undefined : typeof opts.seeds === 'string' ? sqlFolder(opts.seeds) : opts.seeds;
  // Fail at start, not at the first create, when the migration folder is broken.
  await migrations.load();
  await seeds?.load();
  const keyText = opts.encryptionKey ?? process.env['TENANTRY_ENCRYPTION_KEY'];
  const cipher = keyText ? UrlCipher.parse(keyText) : undefined;
  let servers: Servers | undefined;
  const router = new ConnectionRouter(
    { ...opts.pool, ...(opts.maxConnectionsPerServer === undefined ? {} : { capacity: opts.maxConnectionsPerServer }) },
    applicationName,
    logger,
    async (id) => servers?.target(id),
  );
  router.addServer({ id: REGISTRY_SERVER, url: opts.registryUrl });
  const registryPool = router.adminSync(REGISTRY_SERVER);
  try {
    await migrateRegistry(registryPool, logger);
  } catch (err) {
    await router.close();
    if (err instanceof TenantryError && err.code !== ErrorCodes.SERVER_UNAVAILABLE) throw err;
    throw new TenantryError(
      ErrorCodes.SERVER_UNAVAILABLE,
      `cannot prepare the registry at ${describeUrl(opts.registryUrl)}: ${(err as Error).message}`,
      { cause: err, context: { server: REGISTRY_SERVER } },
    );
  }
  const cache = new TenantCache(opts.cache);
  let listener: RegistryListener | undefined;
  if (opts.listen !== false) {
    listener = new RegistryListener(opts.registryUrl, cache, logger, applicationName);
    try {
      await listener.start();
    } catch (err) {
      await router.close();
      throw serverUnavailable(REGISTRY_SERVER, err);
    }
  }
  let tenantRoles = opts.tenantRoles ?? true;
  if (tenantRoles && !(await canCreateRoles(registryPool))) {
    if (opts.tenantRoles === true) {
      await router.close();
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        'tenantRoles needs a registry user that may create roles: ALTER ROLE <app user> CREATEROLE, or set tenantRoles: false',
      );
    }
    logger.warn({}, 'per-tenant roles are off: the registry user may not create roles (grant it CREATEROLE to turn them on)');
    tenantRoles = false;
  }
  const serverRegistry = new ServerRegistry(registryPool);
  const tenancy = new Tenancy({
    router,
    registry: new TenantRegistry(registryPool),
    servers: serverRegistry,
    cache,
    listener,
    migrations,
    seeds,
    logger,
    prepare: opts.preparedStatements !== false,
    poolMax: router.capacity,
    cipher,
    registryUrl: opts.registryUrl,
    defaultIsolation: opts.defaultIsolation ?? 'schema',
    onStep: opts.onLifecycleStep,
    tenantRoles,
    onUnitOfWork: opts.onUnitOfWork,
    registryId: await new TenantRegistry(registryPool).registryId(),
  });
  servers = tenancy.servers;
  if (opts.reconcileOnStart !== false) {
    const report = await tenancy.reconcile().catch((err: unknown) => {
      logger.error({ err }, 'reconcile at start failed; call tenancy.reconcile() to retry');
      return undefined;
    });
    if (report && (report.finished.length > 0 || report.cleaned.length > 0))
      logger.warn({ finished: report.finished, cleaned: report.cleaned }, 'reconcile settled tenants left behind by stopped processes');
  }
  return tenancy;
}
