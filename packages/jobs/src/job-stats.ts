/**
 * Counts of job outcomes, per tenant (for the admin API: "what happened to acme's jobs?") and per
 * queue (for Prometheus: never labelled by tenant, whose cardinality is unbounded). Kept in
 * process memory; `persistJobStats()` (job-stats-store.ts) adds them up across processes.
 */

/** How one run of a job ended. */
export const JobOutcomes = ['completed', 'retried', 'failed', 'deferred', 'discarded', 'rejected'] as const;
/**
 * `completed`: the handler returned. `retried`: it threw and a retry is left. `failed`: it threw
 * on its last attempt. `deferred`: its tenant was SUSPENDED (or not ready), it runs later.
 * `discarded`: its tenant was DELETED. `rejected`: its tenant is unknown (no retry).
 */
export type JobOutcome = (typeof JobOutcomes)[number];

/** One count per outcome. */
export type OutcomeCounts = Record<JobOutcome, number>;

/** A tenant-free job's runs are counted under this key. */
export const NO_TENANT = '-';

function zero(): OutcomeCounts {
  return { completed: 0, retried: 0, failed: 0, deferred: 0, discarded: 0, rejected: 0 };
}

/** In-process counters of job outcomes; both backends record into one. */
export class JobStats {
  readonly #byTenant = new Map<string, OutcomeCounts>();
  readonly #byQueue = new Map<string, OutcomeCounts>();
  readonly #durations = new Map<string, { count: number; sumMs: number }>();
  #unflushed = new Map<string, OutcomeCounts>();

  /** Counts one run of a job of `queue` for `tenantId` (undefined: tenant-free). */
  record(queue: string, tenantId: string | undefined, outcome: JobOutcome, durationMs?: number): void {
    const key = tenantId ?? NO_TENANT;
    bump(this.#byTenant, key, outcome);
    bump(this.#byQueue, queue, outcome);
    bump(this.#unflushed, `${key}\u0000${queue}`, outcome);
    if (durationMs !== undefined) {
      const d = this.#durations.get(queue) ?? { count: 0, sumMs: 0 };
      d.count++;
      d.sumMs += durationMs;
      this.#durations.set(queue, d);
    }
  }

  /** This process's counts for one tenant (by id), every outcome present. */
  forTenant(tenantId: string): OutcomeCounts {
    return { ...(this.#byTenant.get(tenantId) ?? zero()) };
  }

  /** This process's counts per queue. */
  byQueue(): Map<string, OutcomeCounts> {
    return new Map([...this.#byQueue].map(([q, c]) => [q, { ...c }]));
  }

  /** Handler durations per queue (count and sum), for a Prometheus summary. */
  durations(): Map<string, { readonly count: number; readonly sumMs: number }> {
    return new Map([...this.#durations].map(([q, d]) => [q, { ...d }]));
  }

  /** @internal Takes the counts recorded since the last call, keyed `tenant\0queue`. */
  drain(): Map<string, OutcomeCounts> {
    const out = this.#unflushed;
    this.#unflushed = new Map();
    return out;
  }

  /** @internal Puts drained counts back after a failed write. */
  restore(counts: Map<string, OutcomeCounts>): void {
    for (const [k, c] of counts) {
      const cur = this.#unflushed.get(k) ?? zero();
      for (const o of JobOutcomes) cur[o] += c[o];
      this.#unflushed.set(k, cur);
    }
  }
}

function bump(map: Map<string, OutcomeCounts>, key: string, outcome: JobOutcome): void {
  let c = map.get(key);
  if (c === undefined) map.set(key, (c = zero()));
  c[outcome]++;
}
