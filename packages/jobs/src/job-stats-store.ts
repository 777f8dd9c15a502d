/**
 * Per-tenant job counts that outlive a process and add up across processes: each process's
 * {@link JobStats} are flushed, every few seconds and on stop, into one table of the registry
 * database (`tenantry_jobs.job_counts`, one row per tenant and queue, incremented in place), so an
 * admin API reads "what happened to acme's jobs" from any process. Counts recorded after the last
 * flush of a process that is SIGKILLed are lost (at most `flushMs` of them); a failed write is
 * retried with the next flush.
 */
import { quoteIdent, type AdminPool, type Logger, type Tenancy } from '@tenantry/core';
import { JobOutcomes, type JobStats, type OutcomeCounts } from './job-stats.js';
import { outsideTenant } from './tenant-gate.js';

/** Options of {@link persistJobStats}. */
export interface JobStatsStoreOptions {
  /** Schema in the registry database, shared with the schedules. Default `tenantry_jobs`. ALWAYS use the same value. */
  readonly schema?: string;
  /** Milliseconds between flushes. Default 5000; 0 flushes only on `flush()` and `stop()`. */
  readonly flushMs?: number;
  readonly logger?: Logger;
}

/** One tenant's counts on one queue, as persisted. */
export interface QueueOutcomeCounts extends OutcomeCounts {
  readonly queue: string;
  readonly updatedAt: Date;
}

const COLUMNS = JobOutcomes.map((o) => quoteIdent(o));

/**
 * Starts flushing `stats` (one or several, e.g. the pg-boss and the BullMQ backends of a process)
 * into the registry database, creating the table if needed.
 *
 * @example
 * ```ts
 * const counts = await persistJobStats(tenancy, [jobs.stats]);
 * const acme = await counts.forTenant(tenant.id); // { completed, retried, failed, deferred, discarded, rejected }
 * await counts.stop(); // last flush; before tenancy.close()
 * ```
 */
export async function persistJobStats(
  tenancy: Tenancy,
  stats: JobStats | readonly JobStats[],
  options: JobStatsStoreOptions = {},
): Promise<JobStatsStore> {
  const schema = quoteIdent(options.schema ?? 'tenantry_jobs');
  const db = tenancy.adminPool();
  await db.query(
    `select pg_advisory_xact_lock(hashtext('tenantry_jobs:schema'));
     create schema if not exists ${schema};
     create table if not exists ${schema}.job_counts (
       tenant_id text not null, queue text not null,
       ${COLUMNS.map((c) => `${c} bigint not null default 0`).join(', ')},
       updated_at timestamptz not null default now(),
       primary key (tenant_id, queue));`,
  );
  return new JobStatsStore(db, schema, Array.isArray(stats) ? [...(stats as JobStats[])] : [stats as JobStats], options);
}

/** Persisted per-tenant job counts (see {@link persistJobStats}). */
export class JobStatsStore {
  readonly #db: AdminPool;
  readonly #schema: string;
  readonly #sources: JobStats[];
  readonly #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /** @internal use {@link persistJobStats}. */
  constructor(db: AdminPool, schema: string, sources: JobStats[], options: JobStatsStoreOptions) {
    this.#db = db;
    this.#schema = schema;
    this.#sources = sources;
    this.#logger = options.logger;
    const every = options.flushMs ?? 5000;
    if (every > 0) {
      this.#timer = outsideTenant(() =>
        setInterval(() => void this.flush().catch((err: unknown) => this.#logger?.error({ err }, 'job counts flush failed')), every),
      );
      this.#timer.unref();
    }
  }

  /** Writes the counts recorded since the last flush (one statement). Flushes never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.catch(() => undefined).then(() => this.#flushOnce());
    return this.#flushing;
  }

  /** A tenant's counts over every queue and every process, as of the last flushes. */
  async forTenant(tenantId: string): Promise<OutcomeCounts> {
    const { rows } = await this.#db.query<Record<string, string>>(
      `select ${JobOutcomes.map((o, i) => `coalesce(sum(${COLUMNS[i]}), 0)::text as ${COLUMNS[i]}`).join(', ')}
         from ${this.#schema}.job_counts where tenant_id = $1`,
      [tenantId],
    );
    return Object.fromEntries(JobOutcomes.map((o) => [o, Number(rows[0]![o])])) as OutcomeCounts;
  }

  /** A tenant's counts per queue, over every process. */
  async forTenantByQueue(tenantId: string): Promise<QueueOutcomeCounts[]> {
    const { rows } = await this.#db.query<Record<string, string | Date>>(
      `select queue, updated_at, ${COLUMNS.map((c) => `${c}::text`).join(', ')}
         from ${this.#schema}.job_counts where tenant_id = $1 order by queue`,
      [tenantId],
    );
    return rows.map((r) => ({
      queue: r['queue'] as string,
      updatedAt: r['updated_at'] as Date,
      ...(Object.fromEntries(JobOutcomes.map((o) => [o, Number(r[o])])) as OutcomeCounts),
    }));
  }

  /** Stops the timer and flushes what is left. Idempotent. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #flushOnce(): Promise<void> {
    const merged = new Map<string, OutcomeCounts>();
    const drained = this.#sources.map((s) => [s, s.drain()] as const);
    for (const [, counts] of drained) {
      for (const [k, c] of counts) {
        const cur = merged.get(k) ?? { completed: 0, retried: 0, failed: 0, deferred: 0, discarded: 0, rejected: 0 };
        for (const o of JobOutcomes) cur[o] += c[o];
        merged.set(k, cur);
      }
    }
    if (merged.size === 0) return;
    const keys = [...merged.keys()].map((k) => k.split('\u0000') as [string, string]);
    const params: unknown[] = [keys.map((k) => k[0]), keys.map((k) => k[1])];
    for (const o of JobOutcomes) params.push([...merged.values()].map((c) => c[o]));
    try {
      await this.#db.query(
        `insert into ${this.#schema}.job_counts (tenant_id, queue, ${COLUMNS.join(', ')})
         select * from unnest($1::text[], $2::text[], ${JobOutcomes.map((_, i) => `$${i + 3}::bigint[]`).join(', ')})
         on conflict (tenant_id, queue) do update set ${COLUMNS.map((c) => `${c} = job_counts.${c} + excluded.${c}`).join(', ')},
           updated_at = now()`,
        params,
      );
    } catch (err) {
      for (const [source, counts] of drained) source.restore(counts);
      throw err;
    }
  }
}
