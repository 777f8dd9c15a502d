/**
 * `Tenancy`, the application's front: one-line methods over the services that do the work
 * (see docs/architecture.md for the map). It is created by `createTenancy()` (create-tenancy.ts)
 * and holds only what is shared by everything: the frozen {@link TenancyInternals}.
 */
import { eachTenant, seedTenants, type ForEachTenantOptions, type TenantRunResult } from './across-tenants.js';
import type { AdminPool, ServerStats } from './connection-router.js';
import { asServerError, invalidArgument, tenancyClosed } from './errors.js';
import type { TenancyInternals } from './internals.js';
import type { Plans } from './plans.js';
import {
  Migrator,
  type MigrateOptions,
  type MigrationStatusReport,
  type MigrationSummary,
  type RollbackOptions,
} from './migrations/migrator.js';
import { Mobility } from './mobility/mobility.js';
import { reconcile, type ReconcileReport } from './reconcile.js';
import { Servers } from './servers.js';
import {
  migrateShared,
  sharedMigrationStatus,
  type MigrateSharedOptions,
  type SharedMigrationStatusReport,
  type SharedMigrationSummary,
} from './shared-tables.js';
import { enterContext } from './tenant-context.js';
import { TenantResolver } from './tenant-resolution.js';
import { Tenants } from './tenants.js';
import type { Tenant } from './types.js';
import { runUnitOfWork, type TenantDb, type UnitOfWorkOptions } from './unit-of-work.js';
import type { UrlCipher } from './url-cipher.js';
import { performance } from 'node:perf_hooks';

/** Figures for monitoring. */
export interface TenancyStats {
  readonly servers: readonly ServerStats[];
  readonly cache: { readonly size: number; readonly listening: boolean };
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
  /** Backup, restore, clone and move of one tenant (docs/mobility.md). */
  readonly mobility: Mobility;
  /** This registry's identity; its schemas and databases carry `COMMENT 'tenantry:<id>'`. */
  readonly registryId: string;
  readonly #d: TenancyInternals;
  readonly #resolver: TenantResolver;
  readonly #migrator: Migrator;
  #closed = false;

  /** @internal use {@link createTenancy}. */
  constructor(internals: TenancyInternals, registryId: string, registryUrl: string, cipher: UrlCipher | undefined) {
    this.#d = internals;
    this.registryId = registryId;
    this.tenants = new Tenants(internals);
    this.servers = new Servers(internals, registryUrl, cipher);
    this.mobility = new Mobility(internals, (id) => this.servers.target(id));
    this.#resolver = new TenantResolver(internals);
    this.#migrator = new Migrator(internals);
  }

  /**
   * Finishes or cleans up tenants that killed processes left PROVISIONING or DELETING, and
   * reports schemas and databases that no live tenant owns (never dropping them). Runs at
   * start unless `reconcileOnStart: false`; safe while other processes work.
   */
  async reconcile(): Promise<ReconcileReport> {
    this.#assertOpen();
    return await reconcile(this.#d);
  }

  /**
   * Re-encrypts every stored server URL with `newKey` (64 hex digits or base64 of 32 bytes), in
   * one transaction, and uses it from now on. Restart other processes with the new key.
   * @returns how many URLs were re-encrypted.
   */
  async rotateEncryptionKey(newKey: string): Promise<number> {
    this.#assertOpen();
    return await this.servers.rotateEncryptionKey(newKey);
  }

  /**
   * Applies pending migrations to every tenant (or `tenants`), `concurrency` at a time, one
   * transaction per tenant under a per-tenant advisory lock. Never throws for a tenant's
   * failure: returns a result per tenant. Knowing that nothing is pending takes one registry
   * query and no tenant connection.
   *
   * @example
   * ```ts
   * const run = await tenancy.migrate({ concurrency: 8, onError: 'continue', onProgress: (p) => bar.update(p.done / p.total) });
   * if (!run.ok) console.table(run.results.filter((r) => r.status === 'failed'));
   * ```
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
   * Applies pending shared migrations (`sharedMigrations`) to every server's own database and
   * every tenant database, each in one transaction under an advisory lock. Never throws for a
   * target's failure: returns a result per target. `INVALID_ARGUMENT` without shared migrations.
   *
   * @example
   * ```ts
   * const run = await tenancy.migrateShared({ onProgress: (p) => bar.update(p.done / p.total) });
   * if (!run.ok) console.table(run.results.filter((r) => r.status === 'failed'));
   * ```
   */
  async migrateShared(options: MigrateSharedOptions = {}): Promise<SharedMigrationSummary> {
    this.#assertOpen();
    return await migrateShared(this.#d, options);
  }

  /** Each target's shared ledger: its version, what is pending, what changed (one connection per target). */
  async sharedMigrationStatus(): Promise<SharedMigrationStatusReport> {
    this.#assertOpen();
    return await sharedMigrationStatus(this.#d);
  }

  /**
   * Runs `fn` in a unit of work of each ACTIVE tenant (or of `tenants`), `concurrency` at a
   * time. Never throws for a tenant's failure: returns a result per tenant.
   *
   * @example
   * ```ts
   * const counts = await tenancy.forEachTenant(async (db) => (await db.query('select count(*) from posts')).rows[0]);
   * ```
   */
  async forEachTenant<T>(fn: (db: TenantDb) => Promise<T>, options: ForEachTenantOptions = {}): Promise<TenantRunResult<T>[]> {
    this.#assertOpen();
    return await eachTenant(this.#d, this.#resolver, (t) => this.withTenant(t.id, fn), options);
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
    if (typeof sql !== 'string' || sql.trim() === '') throw invalidArgument('runSql() needs an SQL statement');
    return await this.forEachTenant(async (db) => {
      const r = await db.query(sql, values);
      return { rowCount: r.rowCount, rows: r.rows };
    }, options);
  }

  /** Runs the seeds folder in each ACTIVE tenant (or `tenants`), each tenant in one transaction. */
  async seed(options: ForEachTenantOptions = {}): Promise<TenantRunResult<string[]>[]> {
    this.#assertOpen();
    return await seedTenants(this.#d, this.#resolver, options);
  }

  /**
   * Runs `fn` with a handle whose every query runs in the tenant's schema, on a connection of
   * the shared pool; the connection goes back clean when `fn` settles. Only `ACTIVE` tenants
   * are reachable (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`, `TENANT_NOT_READY` otherwise).
   * Without a tenant argument, the tenant of the current context is used (`TENANT_REQUIRED`
   * when there is none). Each `db.query` is one round trip and autocommits; use
   * `db.transaction()` to group statements. The work itself: `runUnitOfWork` in unit-of-work.ts.
   *
   * @example
   * ```ts
   * const posts = await tenancy.withTenant('acme', async (db) =>
   *   (await db.query('select * from posts where published = $1', [true])).rows);
   * ```
   */
  withTenant<T>(tenant: string | Tenant, fn: (db: TenantDb) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>;
  withTenant<T>(fn: (db: TenantDb) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>;
  withTenant<T>(
    a: string | Tenant | ((db: TenantDb) => Promise<T>),
    b?: ((db: TenantDb) => Promise<T>) | UnitOfWorkOptions,
    c?: UnitOfWorkOptions,
  ): Promise<T> {
    // Not async: on the hot path (a cached ACTIVE tenant) this adds no promise of its own to the
    // unit of work's; every failure still arrives as a rejection, never as a throw.
    try {
      this.#assertOpen();
      let fn: (db: TenantDb) => Promise<T>;
      let options: UnitOfWorkOptions | undefined;
      let tenant: Tenant | Promise<Tenant>;
      if (typeof a === 'function') {
        fn = a;
        options = b as UnitOfWorkOptions | undefined;
        tenant = this.#resolver.fromContext();
      } else {
        if (typeof b !== 'function') throw invalidArgument('withTenant(tenant, fn, options?) needs a function as its second argument');
        fn = b;
        options = c;
        tenant = this.#resolver.routable(a);
      }
      return tenant instanceof Promise
        ? tenant.then((t) => runUnitOfWork(this.#d, this, t, fn, options))
        : runUnitOfWork(this.#d, this, tenant, fn, options);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /**
   * Runs `fn` in the tenant's context (AsyncLocalStorage): `currentTenant()` and
   * `withTenant(fn)` inside it use this tenant. For queues, cron jobs, CLI and tests.
   *
   * @example
   * ```ts
   * await tenancy.run('acme', () => sendInvoices());
   * ```
   */
  run<T>(tenant: string | Tenant, fn: () => T | Promise<T>): Promise<T> {
    // Not async: a cached ACTIVE tenant is entered, and `fn` called, before `run` returns — no
    // promise besides the one returned (the NestJS middleware's hot path). Failures, `fn`'s
    // synchronous throws included, still arrive as rejections.
    try {
      this.#assertOpen();
      const resolved = this.#resolver.routable(tenant);
      return resolved instanceof Promise ? resolved.then((t) => this.#enter(t, fn)) : this.#enter(resolved, fn);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Calls `fn` in `tenant`'s context; its result (or throw) as a promise settled in that context. */
  #enter<T>(tenant: Tenant, fn: () => T | Promise<T>): Promise<T> {
    return enterContext({ tenant, owner: this }, () => {
      try {
        const result = fn();
        if (result instanceof Promise) return result;
        // A thenable (a lazy ORM query) is awaited inside the context, as `await fn()` did.
        const thenable = result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function';
        return thenable ? (async () => await result)() : Promise.resolve(result);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    });
  }

  /**
   * Resolves an id, slug or tenant to the current, routable registry row (cached).
   * Throws `INVALID_TENANT_ID`, `TENANT_NOT_FOUND`, `TENANT_SUSPENDED` or `TENANT_NOT_READY`.
   */
  async resolve(tenant: string | Tenant): Promise<Tenant> {
    this.#assertOpen();
    return await this.#resolver.resolve(tenant);
  }

  /**
   * Resolves a custom domain (a request's host name) to its routable tenant (cached).
   * Throws `INVALID_DOMAIN`, `TENANT_NOT_FOUND` (no tenant has that domain), or the status
   * errors of {@link Tenancy.resolve}.
   *
   * @example
   * ```ts
   * const tenant = await tenancy.resolveDomain(req.hostname);
   * ```
   */
  async resolveDomain(hostname: string): Promise<Tenant> {
    this.#assertOpen();
    return await this.#resolver.resolveDomain(hostname);
  }

  /**
   * The raw pool of a server, for administrative SQL that is not tenant data (health checks,
   * reports). Queries through it run with the server's default search_path and no tenant —
   * never use it for tenant data; that is what {@link Tenancy.withTenant} is for.
   */
  adminPool(server = this.#d.registryServer): AdminPool {
    this.#assertOpen();
    return this.#d.router.adminSync(server);
  }

  /**
   * Checks that the registry answers (`select 1` through the pool) and returns the round trip
   * in milliseconds. Throws `SERVER_UNAVAILABLE` or `CONNECTION_BUDGET_EXHAUSTED`.
   */
  async ping(): Promise<number> {
    this.#assertOpen();
    const started = performance.now();
    try {
      await this.#d.registryDb.query('select 1');
    } catch (err) {
      throw asServerError(this.#d.registryServer, err);
    }
    return performance.now() - started;
  }

  /** The plans' limits (`createTenancy({ plans })`); `plans.of(tenant)` is the one that applies to a tenant. */
  get plans(): Plans {
    return this.#d.plans;
  }

  /** Pool and cache figures. */
  stats(): TenancyStats {
    return {
      servers: this.#d.router.stats(),
      cache: { size: this.#d.cache.size, listening: this.#d.listener?.connected ?? false },
    };
  }

  /** Closes the listener and every pool, waiting for running units of work. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#d.pending?.close();
    await this.#d.listener?.close();
    await this.#d.router.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw tenancyClosed();
  }
}
