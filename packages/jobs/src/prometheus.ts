/**
 * Queue metrics for Prometheus, never labelled by tenant (a tenant label's cardinality is
 * unbounded; per-tenant counts are for the admin API: `persistJobStats()`). Values are read when
 * the registry is scraped: run outcomes and handler time from this process's {@link JobStats},
 * queue depths from the backends' own storage (shared by every process).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { JobOutcomes, type JobStats } from './job-stats.js';

/** The depth of one queue, by state. */
export type QueueDepths = Readonly<Record<string, number>>;

/** Options of {@link registerJobMetrics}. */
export interface JobMetricsOptions {
  /** The outcome counters of this process's backends (`jobs.stats`). */
  readonly stats: JobStats | readonly JobStats[];
  /**
   * Queue depths, read at each scrape, by queue then state. Use {@link bullMqDepths} or
   * {@link pgBossDepths}, or your own.
   */
  readonly depths?: () => Promise<ReadonlyMap<string, QueueDepths>>;
  /** Metric name prefix. Default `tenantry_jobs_`. */
  readonly prefix?: string;
}

/**
 * Registers on `registry`: `tenantry_jobs_runs_total{queue, outcome}` (counter),
 * `tenantry_jobs_handler_seconds_total{queue}` and `tenantry_jobs_handler_runs_total{queue}`
 * (counters: divide for the mean handler time) and, with `depths`, `tenantry_jobs_queue_jobs{queue, state}` (gauge).
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * registerJobMetrics(registry, { stats: jobs.stats, depths: pgBossDepths(jobs.boss, ['send-invoice']) });
 * ```
 */
export function registerJobMetrics(registry: Registry, options: JobMetricsOptions): void {
  const prefix = options.prefix ?? 'tenantry_jobs_';
  const sources = Array.isArray(options.stats) ? (options.stats as JobStats[]) : [options.stats as JobStats];
  new Counter({
    name: `${prefix}runs_total`,
    help: 'Runs of jobs in this process, by queue and outcome (completed, retried, failed, deferred, discarded, rejected).',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources) {
        for (const [queue, counts] of s.byQueue()) {
          for (const outcome of JobOutcomes) if (counts[outcome] > 0) this.inc({ queue, outcome }, counts[outcome]);
        }
      }
    },
  });
  new Counter({
    name: `${prefix}handler_seconds_total`,
    help: 'Time spent in job handlers in this process, by queue.',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources) for (const [queue, d] of s.durations()) this.inc({ queue }, d.sumMs / 1000);
    },
  });
  new Counter({
    name: `${prefix}handler_runs_total`,
    help: 'Handler runs timed in this process, by queue.',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources) for (const [queue, d] of s.durations()) this.inc({ queue }, d.count);
    },
  });
  const depths = options.depths;
  if (depths !== undefined) {
    new Gauge({
      name: `${prefix}queue_jobs`,
      help: 'Jobs stored in each queue, by state (all processes).',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [queue, states] of await depths()) for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
      },
    });
  }
}

/** Depths of BullMQ queues (`queue.getJobCounts()`): waiting, active, delayed, completed, failed, … */
export function bullMqDepths(
  queues: readonly { readonly name: string; getJobCounts(): Promise<Record<string, number>> }[],
): () => Promise<ReadonlyMap<string, QueueDepths>> {
  return async () => new Map(await Promise.all(queues.map(async (q) => [q.name, await q.getJobCounts()] as const)));
}

/** Depths of pg-boss queues (`boss.getQueues()`): queued, ready, deferred, active, failed, total. */
export function pgBossDepths(
  boss: {
    getQueues(names?: string[]): Promise<
      {
        name: string;
        queuedCount: number;
        readyCount: number;
        deferredCount: number;
        activeCount: number;
        failedCount?: number;
        totalCount: number;
      }[]
    >;
  },
  names?: readonly string[],
): () => Promise<ReadonlyMap<string, QueueDepths>> {
  return async () => {
    const queues = await boss.getQueues(names === undefined ? undefined : [...names]);
    return new Map(
      queues.map((q) => [
        q.name,
        {
          queued: q.queuedCount,
          ready: q.readyCount,
          deferred: q.deferredCount,
          active: q.activeCount,
          ...(q.failedCount === undefined ? {} : { failed: q.failedCount }),
          total: q.totalCount,
        },
      ]),
    );
  };
}
