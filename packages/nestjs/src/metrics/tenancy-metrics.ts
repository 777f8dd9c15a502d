import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import {
  TenantStatuses,
  type MigrationProgress,
  type MigrationStatusReport,
  type ServerStats,
  type Tenancy,
  type TenantStatus,
  type UnitOfWorkEvent,
} from '@tenantry/core';
import { CachedRead } from './cached-read.js';
import { TenantUsage, type TenantUsageEntry, type TenantUsageOrder } from './tenant-usage.js';

/** Options of {@link TenancyMetrics}. */
export interface TenancyMetricsOptions {
  /**
   * Where the metrics are registered. Default: prom-client's global `register`. A registry
   * holds one metric per name: give each application of a process (each test app) its own.
   */
  readonly registry?: Registry;
  /** Prefix of every metric name. Default `tenantry_`. */
  readonly prefix?: string;
  /** Buckets of the unit-of-work duration histogram, in seconds. Default 1 ms … 10 s. */
  readonly durationBuckets?: readonly number[];
  /** How long tenants-by-status is cached between scrapes. Default 5000 ms. */
  readonly tenantsCacheMs?: number;
  /** How long the migration status is cached between scrapes (it reads every tenant's row). Default 30000 ms. */
  readonly migrationsCacheMs?: number;
  /** A registry read at scrape time that takes longer is abandoned; the last value is kept. Default 2000 ms. */
  readonly collectTimeoutMs?: number;
  /** Tenants whose units of work are tallied in memory for {@link TenancyMetrics.tenantUsage}. Default 10000; 0 turns it off. */
  readonly trackTenants?: number;
}

/** Default buckets of `tenantry_unit_of_work_duration_seconds`. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

const MIGRATION_STATES = ['pending', 'migrating', 'failed'] as const;
const MOBILITY_COUNTERS = [
  ['backup', 'Tenant backups (Tenantry archives) finished by this process, by outcome (ok, failed)'],
  ['restore', 'Tenant restores, into a new tenant or in place, finished by this process, by outcome (ok, failed)'],
  ['clone', 'Tenant clones finished by this process, by outcome (ok, failed)'],
  ['move', 'Tenant moves (drains included) finished by this process, by outcome (ok, failed)'],
] as const;

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0)
    throw new TypeError(`TenancyMetrics option ${name} must be a non-negative integer, got ${String(value)}`);
  return v;
}

/**
 * Prometheus metrics of a {@link Tenancy}, with prom-client. Pool figures, tenants by status and
 * the migration status are read when Prometheus scrapes (the registry reads cached); units of
 * work are counted by the `onUnitOfWork` hook given to `createTenancy`. No metric has a tenant
 * label — per-tenant figures are in {@link tenantUsage}, for an admin API.
 *
 * Create it first, pass its hook to the tenancy, then {@link attach} the tenancy
 * (`TenancyMetricsModule` attaches it for you in a Nest application).
 *
 * @example
 * ```ts
 * const metrics = new TenancyMetrics({ registry: new Registry() });
 * const tenancy = await createTenancy({ registryUrl, onUnitOfWork: metrics.onUnitOfWork });
 * metrics.attach(tenancy);
 * await tenancy.migrate({ onProgress: metrics.onMigrationProgress });
 * const text = await metrics.metrics(); // Prometheus text format, for GET /metrics
 * ```
 */
export class TenancyMetrics {
  /** The registry the metrics live in. */
  readonly registry: Registry;
  /**
   * Pass to `createTenancy({ onUnitOfWork })`: counts units of work by server and outcome and
   * times them. Cheap enough for the hot path (a few map updates).
   */
  readonly onUnitOfWork: (event: UnitOfWorkEvent) => void;
  /** Pass to `tenancy.migrate({ onProgress })` to publish the progress of a migration run. */
  readonly onMigrationProgress: (progress: MigrationProgress) => void;

  #tenancy: Tenancy | undefined;
  readonly #usage: TenantUsage;
  readonly #names: string[];
  readonly #tenantsCacheMs: number;
  readonly #migrationsCacheMs: number;
  readonly #timeoutMs: number;
  #tenants: CachedRead<Record<TenantStatus, number>> | undefined;
  #migrations: CachedRead<MigrationStatusReport> | undefined;
  readonly #collectErrors: Counter<'source'>;
  /** Registry reads of the scrape in progress. */
  readonly #reads = new Set<Promise<unknown>>();

  constructor(options: TenancyMetricsOptions = {}) {
    const registry = options.registry ?? globalRegistry;
    const p = options.prefix ?? 'tenantry_';
    this.registry = registry;
    this.#tenantsCacheMs = nonNegativeInteger(options.tenantsCacheMs, 5_000, 'tenantsCacheMs');
    this.#migrationsCacheMs = nonNegativeInteger(options.migrationsCacheMs, 30_000, 'migrationsCacheMs');
    this.#timeoutMs = nonNegativeInteger(options.collectTimeoutMs, 2_000, 'collectTimeoutMs');
    this.#usage = new TenantUsage(nonNegativeInteger(options.trackTenants, 10_000, 'trackTenants'));
    const registers = [registry];
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const stats = (): readonly ServerStats[] => this.#tenancy?.stats().servers ?? [];

    /** A gauge per server, set from the pool figures at scrape time. */
    const poolGauge = (name: string, help: string, pick: (s: ServerStats) => number): void => {
      const g: Gauge<'server'> = new Gauge({
        name: p + name,
        help,
        labelNames: ['server'] as const,
        registers,
        collect: () => {
          g.reset();
          for (const s of stats()) g.set({ server: s.server }, pick(s));
        },
      });
    };
    /** A counter per server whose value is a running total kept by the pool. */
    const poolCounter = (name: string, help: string, pick: (s: ServerStats) => number): void => {
      const c: Counter<'server'> = new Counter({
        name: p + name,
        help,
        labelNames: ['server'] as const,
        registers,
        collect: () => {
          c.reset();
          for (const s of stats()) c.inc({ server: s.server }, pick(s));
        },
      });
    };

    const connections: Gauge<'server' | 'state'> = new Gauge({
      name: `${p}pool_connections`,
      help: 'Server connections held by the pool, in use or idle (connections being opened count as in use)',
      labelNames: ['server', 'state'] as const,
      registers,
      collect: () => {
        connections.reset();
        for (const s of stats()) {
          connections.set({ server: s.server, state: 'in_use' }, s.inUse);
          connections.set({ server: s.server, state: 'idle' }, s.idle);
        }
      },
    });
    poolGauge('pool_max_connections', 'The connection budget of the server (pool.max)', (s) => s.max);
    poolGauge('pool_waiting_callers', 'Callers waiting for a connection to the server', (s) => s.waiting);
    poolGauge('pool_databases', 'Databases of the server with open connections (database-per-tenant pools)', (s) => s.pools);
    poolGauge('server_available', '1 while the server accepts connections, 0 while connecting to it fails', (s) => (s.available ? 1 : 0));
    poolCounter('pool_checkouts_total', 'Connections checked out of the pool', (s) => s.checkouts);
    poolCounter('pool_connections_opened_total', 'Server connections opened', (s) => s.opened);
    poolCounter('pool_evictions_total', 'Idle connections closed to make room for a connection to another database', (s) => s.evictions);
    poolCounter(
      'pool_connections_destroyed_total',
      'Connections destroyed because they failed or could not be cleaned',
      (s) => s.destroyed,
    );

    const cacheSize: Gauge = new Gauge({
      name: `${p}registry_cache_tenants`,
      help: 'Tenants held in the in-process registry cache',
      registers,
      collect: () => cacheSize.set(this.#tenancy?.stats().cache.size ?? 0),
    });
    const listening: Gauge = new Gauge({
      name: `${p}registry_listening`,
      help: '1 while the LISTEN connection for registry changes is up',
      registers,
      collect: () => listening.set(this.#tenancy?.stats().cache.listening === true ? 1 : 0),
    });

    // Running totals kept by tenancy.mobility, read at scrape time; one counter per operation, no tenant label.
    for (const [operation, help] of MOBILITY_COUNTERS) {
      const c: Counter<'outcome'> = new Counter({
        name: `${p}mobility_${operation}s_total`,
        help,
        labelNames: ['outcome'] as const,
        registers,
        collect: () => {
          c.reset();
          const totals = this.#tenancy?.mobility.stats();
          if (totals === undefined) return;
          for (const outcome of ['ok', 'failed'] as const) c.inc({ outcome }, totals[operation][outcome]);
        },
      });
    }

    const units = new Counter({
      name: `${p}units_of_work_total`,
      help: 'Units of work (withTenant calls) finished, by server and outcome (ok, error)',
      labelNames: ['server', 'outcome'] as const,
      registers,
    });
    const duration = new Histogram({
      name: `${p}unit_of_work_duration_seconds`,
      help: 'Duration of units of work, from connection checkout to release',
      labelNames: ['server', 'outcome'] as const,
      buckets: [...(options.durationBuckets ?? DEFAULT_DURATION_BUCKETS)],
      registers,
    });
    this.onUnitOfWork = (event) => {
      const labels = { server: event.tenant.server, outcome: event.outcome };
      units.inc(labels);
      duration.observe(labels, event.durationMs / 1000);
      this.#usage.record(event);
    };

    const tenants: Gauge<'status'> = new Gauge({
      name: `${p}tenants`,
      help: 'Tenants in the registry by status (cached between scrapes)',
      labelNames: ['status'] as const,
      registers,
      collect: async () => {
        const counts = await this.#read(this.#tenants, 'tenants');
        tenants.reset();
        if (counts === undefined) return;
        for (const status of TenantStatuses) tenants.set({ status }, counts[status] ?? 0);
      },
    });
    const migrationTenants: Gauge<'state'> = new Gauge({
      name: `${p}migration_tenants`,
      help: 'Tenants with migrations to apply (pending), being migrated, or whose last migration failed (cached between scrapes)',
      labelNames: ['state'] as const,
      registers,
      collect: async () => {
        const report = await this.#read(this.#migrations, 'migrations');
        migrationTenants.reset();
        if (report === undefined) return;
        const values = { pending: report.pending, migrating: report.migrating, failed: report.failed.length };
        for (const state of MIGRATION_STATES) migrationTenants.set({ state }, values[state]);
      },
    });

    // Registered after the metrics that read the registry, so that it is collected after them
    // and shows this scrape's failures, not the previous one's.
    this.#collectErrors = new Counter({
      name: `${p}metrics_collect_errors_total`,
      help: 'Registry reads at scrape time that failed or timed out (the previous values were kept)',
      labelNames: ['source'] as const,
      registers,
      collect: async () => {
        await Promise.all(this.#reads);
      },
    });
    for (const source of ['tenants', 'migrations']) this.#collectErrors.inc({ source }, 0);

    const runPlanned = new Gauge({
      name: `${p}migration_run_planned_tenants`,
      help: 'Tenants in the current (or last) migration run of this process',
      registers,
    });
    const runDone = new Gauge({
      name: `${p}migration_run_done_tenants`,
      help: 'Tenants finished in the current (or last) migration run of this process',
      registers,
    });
    const runResults = new Counter({
      name: `${p}migration_tenant_results_total`,
      help: 'Tenants finished by migration runs of this process, by result (migrated, up-to-date, failed, skipped, rolled-back)',
      labelNames: ['status'] as const,
      registers,
    });
    this.onMigrationProgress = (progress) => {
      runPlanned.set(progress.total);
      runDone.set(progress.done);
      runResults.inc({ status: progress.result.status });
      // What the run changed shows at the next scrape, not after the cache expires.
      this.#migrations?.expire();
      this.#tenants?.expire();
    };
    this.#names = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !before.has(name));
  }

  /**
   * Reads pool figures, tenants and migrations from `tenancy` at scrape time (replacing a
   * tenancy attached before).
   */
  attach(tenancy: Tenancy): void {
    this.#tenancy = tenancy;
    const timeoutMs = this.#timeoutMs;
    this.#tenants = new CachedRead(() => tenancy.tenants.countByStatus(), { ttlMs: this.#tenantsCacheMs, timeoutMs });
    this.#migrations = new CachedRead(() => tenancy.migrationStatus(), { ttlMs: this.#migrationsCacheMs, timeoutMs });
  }

  /** Stops reading from the tenancy (before it is closed): scrape-time metrics go empty. */
  detach(tenancy?: Tenancy): void {
    if (tenancy !== undefined && tenancy !== this.#tenancy) return;
    this.#tenancy = undefined;
    this.#tenants = undefined;
    this.#migrations = undefined;
  }

  /**
   * Units of work per tenant since start, busiest first, for an admin API. Covers the
   * `trackTenants` most recently active tenants.
   */
  tenantUsage(limit = 10, by: TenantUsageOrder = 'unitsOfWork'): TenantUsageEntry[] {
    return this.#usage.top(limit, by);
  }

  /** Tenants by status, cached like the `tenants` metric; undefined when no tenancy is attached. */
  async tenantsByStatus(): Promise<Record<TenantStatus, number> | undefined> {
    return await this.#tenants?.get();
  }

  /** Content type of {@link metrics}' text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric of the registry (not only Tenantry's) in Prometheus text format. */
  async metrics(): Promise<string> {
    return await this.registry.metrics();
  }

  /** Removes Tenantry's metrics from the registry (so another instance can register them). */
  unregister(): void {
    for (const name of this.#names.splice(0)) this.registry.removeSingleMetric(name);
  }

  /** A registry read for a scrape: the cached value, or the last good one after a failure. */
  #read<T>(source: CachedRead<T> | undefined, name: string): Promise<T | undefined> {
    if (source === undefined) return Promise.resolve(undefined);
    const read = source.get().catch(() => {
      this.#collectErrors.inc({ source: name });
      return source.last;
    });
    this.#reads.add(read);
    void read.finally(() => this.#reads.delete(read));
    return read;
  }
}
