/**
 * The pg-boss backend (the default: PostgreSQL only, no other server). pg-boss's tables live in
 * the registry database, in a schema of their own (`tenantry_boss`). Each job's data carries
 * its tenant (job-envelope.ts); every attempt goes through the {@link TenantGate}, so the
 * handler runs inside `tenancy.run()` of that tenant on the first attempt, on retries and on
 * delayed jobs alike.
 *
 * Outcomes map onto pg-boss's per-job results: a handler that returns completes the job, one
 * that throws fails it (retried up to the queue's `retryLimit`), an unknown tenant dead-letters
 * it (no retry). pg-boss cannot push an active job back into the future, so a job of a SUSPENDED
 * tenant is re-sent with `startAfter` under an id derived from its own (a re-run after a crash
 * sends the same id, which pg-boss ignores) and this copy completes as `deferred`.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, invalidArgument, TenantryError, type Tenancy, type Tenant } from '@tenantry/core';
import {
  PgBoss,
  type ConstructorOptions,
  type JobResult,
  type JobWithMetadata,
  type Queue,
  type SendOptions,
  type WorkOptions,
} from 'pg-boss';
import { stamp, stampOf, TENANT_KEY, type Stamped } from './job-envelope.js';
import { JobStats } from './job-stats.js';
import { errorOutput, type JobHandler, type TenantQueueFlags } from './job-types.js';
import { outsideTenant, TenantGate, type TenantGateOptions } from './tenant-gate.js';

/** Options of {@link PgBossJobs.start}. Frozen on construction. */
export interface PgBossJobsOptions extends TenantGateOptions {
  /** URL of the registry database (the one given to `createTenancy`): pg-boss's tables go there. */
  readonly connectionString: string;
  /** pg-boss's own schema in the registry database. Default `tenantry_boss`. ALWAYS use the same value. */
  readonly schema?: string;
  /** pg-boss's pool size. Default 4. */
  readonly max?: number;
  /** Any other pg-boss constructor option (maintenance intervals, …). */
  readonly boss?: Omit<ConstructorOptions, 'connectionString' | 'schema' | 'max' | 'db'>;
  /** Where outcomes are counted. Default: a new one, `jobs.stats`. Share one to count a process's backends together. */
  readonly stats?: JobStats;
}

/** A pg-boss queue's options plus {@link TenantQueueFlags}. */
export type PgBossQueueOptions = Omit<Queue, 'name'> & TenantQueueFlags;

/** Options of {@link PgBossJobs.send}: pg-boss's, plus an explicit tenant. */
export type PgBossSendOptions = Omit<SendOptions, 'db'> & {
  /** Send for this tenant (id or slug) instead of the current context's. */
  readonly tenant?: string | Tenant;
};

/** Options of {@link PgBossJobs.work}. `batchSize` jobs are fetched at once and run one after another. */
export type PgBossWorkOptions = Omit<WorkOptions, 'perJobResults' | 'includeMetadata' | 'transactional' | 'transactionTimeoutSeconds'>;

const DEFERRED_ID_NAMESPACE = 'tenantry-jobs:deferred:';

/** The id of the copy a deferral sends: a uuid derived from the deferred job's id, the same on every re-run. */
export function deferredJobId(jobId: string): string {
  const h = createHash('sha256')
    .update(DEFERRED_ID_NAMESPACE + jobId)
    .digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Tenant-aware queues on pg-boss.
 *
 * @example
 * ```ts
 * const jobs = await PgBossJobs.start(tenancy, { connectionString: process.env.DATABASE_URL! });
 * await jobs.createQueue('send-invoice', { retryLimit: 3 });
 * await jobs.work<{ invoiceId: string }>('send-invoice', async ({ data }) => {
 *   await tenancy.withTenant((db) => db.query('update invoices set sent = true where id = $1', [data.invoiceId]));
 * });
 * await tenancy.run('acme', () => jobs.send('send-invoice', { invoiceId: 'inv-1' })); // carries acme
 * ```
 */
export class PgBossJobs {
  /** The pg-boss instance, for what this class does not wrap (its jobs' data hold `__tenantry`). */
  readonly boss: PgBoss;
  /** Outcome counts of the jobs this process ran. */
  readonly stats: JobStats;
  readonly #gate: TenantGate;
  readonly #queues = new Map<string, PgBossQueueOptions>();
  #stopped = false;

  private constructor(boss: PgBoss, gate: TenantGate, stats: JobStats) {
    this.boss = boss;
    this.#gate = gate;
    this.stats = stats;
  }

  /**
   * Starts pg-boss on the registry database (creating or migrating its schema) and returns the
   * jobs API. Stop it with {@link PgBossJobs.stop} before closing the tenancy.
   */
  static async start(tenancy: Tenancy, options: PgBossJobsOptions): Promise<PgBossJobs> {
    if (typeof options?.connectionString !== 'string' || options.connectionString === '') {
      throw invalidArgument('PgBossJobs.start() needs the registry database URL as connectionString');
    }
    const boss = new PgBoss({
      ...options.boss,
      connectionString: options.connectionString,
      schema: options.schema ?? 'tenantry_boss',
      max: options.max ?? 4,
      application_name: 'tenantry-jobs',
    } as ConstructorOptions);
    const logger = options.logger;
    boss.on('error', (err) => logger?.error({ err }, 'pg-boss error'));
    await outsideTenant(() => boss.start());
    return new PgBossJobs(boss, new TenantGate(tenancy, options), options.stats ?? new JobStats());
  }

  /**
   * Creates the queue in pg-boss (idempotent) and declares it in this process. Every process
   * that sends to or works a queue declares it, with the same `tenantFree`.
   */
  async createQueue(name: string, options: PgBossQueueOptions = {}): Promise<void> {
    const { tenantFree, ...queue } = options;
    if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name, queue);
    this.#queues.set(name, Object.freeze({ ...options, tenantFree: tenantFree === true }));
  }

  /**
   * Sends a job carrying the current context's tenant (or `options.tenant`). Throws
   * `TENANT_REQUIRED` outside a tenant context unless the queue is tenant-free. Returns the job id
   * (null when pg-boss skipped it: singleton, throttling, an id already used).
   */
  async send<T extends object>(name: string, data: T, options: PgBossSendOptions = {}): Promise<string | null> {
    const queue = this.#queue(name);
    const { tenant, ...send } = options;
    const s = await this.#gate.enqueueStamp(name, queue.tenantFree === true, tenant);
    return await this.boss.send(name, stamp(data, s, name), send);
  }

  /**
   * Works `name`'s jobs: each job's handler runs inside its tenant's context (`currentTenant()`,
   * `tenancy.withTenant(fn)` and the ORM adapters use it). Returns pg-boss's worker id.
   */
  async work<T extends object, R = unknown>(
    name: string,
    handler: JobHandler<T, R, JobWithMetadata<Stamped<T>>>,
    options: PgBossWorkOptions = {},
  ): Promise<string> {
    const queue = this.#queue(name);
    const tenantFree = queue.tenantFree === true;
    const work = { ...options, includeMetadata: true, perJobResults: true } as const;
    return await outsideTenant(() =>
      this.boss.work<Stamped<T>>(name, work, async (jobs) => {
        const results: JobResult[] = [];
        // includeMetadata: true, so each job has its retry settings (the handler type does not follow spread options).
        for (const job of jobs as JobWithMetadata<Stamped<T>>[]) results.push(await this.#runOne(job, tenantFree, handler));
        return results;
      }),
    );
  }

  /** Stops pg-boss (waiting for running jobs, per pg-boss's `graceful` default). Idempotent. */
  async stop(options: { readonly graceful?: boolean; readonly timeout?: number } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.boss.stop({ graceful: options.graceful ?? true, ...(options.timeout === undefined ? {} : { timeout: options.timeout }) });
  }

  async #runOne<T extends object, R>(
    job: JobWithMetadata<Stamped<T>>,
    tenantFree: boolean,
    handler: JobHandler<T, R, JobWithMetadata<Stamped<T>>>,
  ): Promise<JobResult> {
    const s = stampOf(job.data);
    const tenantId = s?.tenantId;
    const started = performance.now();
    const { [TENANT_KEY]: _s, ...data } = (job.data ?? {}) as Record<string, unknown>;
    void _s;
    try {
      const admission = await this.#gate.admit({ queue: job.name, id: job.id, tenantFree, data: job.data }, (tenant) =>
        handler(
          {
            id: job.id,
            originId: s?.origin ?? job.id,
            queue: job.name,
            data: data as T,
            tenant,
            attempt: job.retryCount,
            signal: job.signal,
          },
          job,
        ),
      );
      switch (admission.kind) {
        case 'ran':
          this.stats.record(job.name, tenantId, 'completed', performance.now() - started);
          return { id: job.id, status: 'completed', output: asOutput(admission.value) };
        case 'deferred': {
          const next = await this.#defer(job, admission.delayMs);
          this.stats.record(job.name, tenantId, 'deferred');
          return { id: job.id, status: 'completed', output: { tenantry: 'deferred', code: admission.error.code, next } };
        }
        case 'discarded':
          this.stats.record(job.name, tenantId, 'discarded');
          return { id: job.id, status: 'completed', output: { tenantry: 'discarded', status: admission.status } };
        case 'rejected':
          this.stats.record(job.name, tenantId, 'rejected');
          return { id: job.id, status: 'deadletter', output: errorOutput(admission.error) };
      }
    } catch (err) {
      const retried = job.retryCount < job.retryLimit;
      this.stats.record(job.name, tenantId, retried ? 'retried' : 'failed', performance.now() - started);
      return { id: job.id, status: 'failed', output: errorOutput(err) };
    }
  }

  /** Re-sends a job of a tenant that cannot run now, `delayMs` later, under an id derived from its own. */
  async #defer(job: JobWithMetadata<object>, delayMs: number): Promise<string> {
    const s = stampOf(job.data);
    const next = deferredJobId(job.id);
    const data = { ...job.data, [TENANT_KEY]: { ...s, origin: s?.origin ?? job.id } };
    await this.boss.send(job.name, data, {
      id: next,
      startAfter: new Date(Date.now() + delayMs),
      priority: job.priority,
      retryLimit: job.retryLimit,
      retryDelay: job.retryDelay,
      retryBackoff: job.retryBackoff,
      ...(job.retryDelayMax === undefined || job.retryDelayMax === null ? {} : { retryDelayMax: job.retryDelayMax }),
      expireInSeconds: job.expireInSeconds,
    });
    return next;
  }

  #queue(name: string): PgBossQueueOptions {
    if (this.#stopped) throw new TenantryError(ErrorCodes.TENANCY_CLOSED, 'the jobs were stopped; start a new PgBossJobs');
    const queue = this.#queues.get(name);
    if (queue === undefined)
      throw invalidArgument(`queue '${name}' is not declared in this process: call jobs.createQueue('${name}') first`);
    return queue;
  }
}

function asOutput(value: unknown): object | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' && !Array.isArray(value) ? value : { value };
}
