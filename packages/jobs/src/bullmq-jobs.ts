/**
 * The BullMQ backend (Redis). Each job's data carries its tenant (job-envelope.ts); the processor
 * every worker runs is wrapped by {@link tenantProcessor}, which sends each attempt through the
 * {@link TenantGate}: the processor runs inside `tenancy.run()` of the job's tenant on the first
 * attempt, on retries, on delayed and repeated jobs, and in flows (children carry their parent's
 * tenant). A job of a SUSPENDED tenant is moved back to delayed (BullMQ's `DelayedError`: no
 * attempt is used); a DELETED tenant's job completes without running, with a log line; an unknown
 * tenant's job fails at once (`UnrecoverableError`, the message starting with the error code).
 */
import { createRequire } from 'node:module';
import { currentTenant, ErrorCodes, invalidArgument, TenantryError, type Tenancy, type Tenant } from '@tenantry/core';
import {
  DelayedError,
  FlowProducer,
  Queue,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type FlowJob,
  type Job,
  type JobNode,
  type JobSchedulerTemplateOptions,
  type JobsOptions,
  type Processor,
  type QueueOptions,
  type RepeatOptions,
  type WorkerOptions,
} from 'bullmq';
import { stamp, stampOf, TENANT_KEY, type Stamped, type TenantStamp } from './job-envelope.js';
import { JobStats } from './job-stats.js';
import type { JobHandler, TenantQueueFlags } from './job-types.js';
import { outsideTenant, TenantGate, type TenantGateOptions } from './tenant-gate.js';

/** Options of {@link BullMqJobs}. Frozen on construction. */
export interface BullMqJobsOptions extends TenantGateOptions {
  /**
   * Redis: ioredis options (each queue, worker and flow producer made here then gets its own
   * ioredis client, made with `maxRetriesPerRequest: null` as BullMQ's workers need, and closed by
   * {@link BullMqJobs.close}), or a client instance you own and close.
   */
  readonly connection: ConnectionOptions;
  /** BullMQ's key prefix. Default BullMQ's (`bull`). */
  readonly prefix?: string;
  /** Where outcomes are counted. Default: a new one, `jobs.stats`. Share one to count a process's backends together. */
  readonly stats?: JobStats;
}

/** Options of a queue made by {@link BullMqJobs.queue}. */
export type BullMqQueueOptions = TenantQueueFlags & Omit<QueueOptions, 'connection' | 'prefix'>;

/** The tenant to send for: default the current context's. */
export interface ForTenant {
  /** Send for this tenant (id or slug) instead of the current context's. */
  readonly tenant?: string | Tenant;
}

/**
 * Wraps a BullMQ processor so that each attempt runs inside its job's tenant (see the file's
 * comment). `@nestjs/bullmq` processors get it from `@TenantProcessor()` (`@tenantry/jobs/nestjs`).
 */
export function tenantProcessor<T, R>(
  gate: TenantGate,
  stats: JobStats,
  options: { readonly queue: string; readonly tenantFree?: boolean },
  processor: (job: Job<T, R>, token?: string, signal?: AbortSignal) => Promise<R>,
): Processor<T, R | undefined> {
  const tenantFree = options.tenantFree === true;
  return async (job, token, signal) => {
    const tenantId = stampOf(job.data)?.tenantId;
    const started = performance.now();
    let admission;
    try {
      admission = await gate.admit({ queue: options.queue, id: job.id ?? '?', tenantFree, data: job.data }, () =>
        processor(job as Job<T, R>, token, signal),
      );
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
      const attempts = job.opts.attempts ?? 1;
      stats.record(options.queue, tenantId, job.attemptsMade + 1 < attempts ? 'retried' : 'failed', performance.now() - started);
      throw err;
    }
    switch (admission.kind) {
      case 'ran':
        stats.record(options.queue, tenantId, 'completed', performance.now() - started);
        return admission.value;
      case 'deferred':
        stats.record(options.queue, tenantId, 'deferred');
        await job.moveToDelayed(Date.now() + admission.delayMs, token);
        throw new DelayedError(admission.error.message);
      case 'discarded':
        stats.record(options.queue, tenantId, 'discarded');
        return undefined;
      case 'rejected':
        stats.record(options.queue, tenantId, 'rejected');
        throw new UnrecoverableError(`${admission.error.code}: ${admission.error.message}`);
    }
  };
}

type IORedisClass = new (options: object) => { quit(): Promise<unknown>; disconnect(): void };

/** ioredis, loaded on first use (an optional peer: not needed when a client instance is given). */
function loadIORedis(): IORedisClass {
  try {
    const mod = createRequire(import.meta.url)('ioredis') as IORedisClass & { default?: IORedisClass };
    return mod.default ?? mod;
  } catch (err) {
    throw invalidArgument('BullMqJobs needs the ioredis package for connection options (npm install ioredis), or a Redis client', {
      cause: err,
    });
  }
}

/** A BullMQ queue whose jobs carry their tenant. */
export class TenantQueue<T extends object> {
  /** The BullMQ queue, for what this class does not wrap (its jobs' data hold `__tenantry`). */
  readonly queue: Queue;
  readonly #gate: TenantGate;
  readonly #tenantFree: boolean;

  /** @internal use {@link BullMqJobs.queue}. */
  constructor(queue: Queue, gate: TenantGate, tenantFree: boolean) {
    this.queue = queue;
    this.#gate = gate;
    this.#tenantFree = tenantFree;
  }

  /** Whether the queue's jobs carry no tenant. */
  get tenantFree(): boolean {
    return this.#tenantFree;
  }

  /** Adds a job carrying the current context's tenant (or `opts.tenant`); `TENANT_REQUIRED` outside one unless tenant-free. */
  async add(name: string, data: T, opts: JobsOptions & ForTenant = {}): Promise<Job<Stamped<T>>> {
    const { tenant, ...jobOpts } = opts;
    const s = await this.#gate.enqueueStamp(this.queue.name, this.#tenantFree, tenant);
    return (await this.queue.add(name, stamp(data, s, this.queue.name), jobOpts)) as Job<Stamped<T>>;
  }

  /** Adds several jobs, all for the current context's tenant (or `options.tenant`), in one call. */
  async addBulk(jobs: readonly { name: string; data: T; opts?: JobsOptions }[], options: ForTenant = {}): Promise<Job<Stamped<T>>[]> {
    const s = await this.#gate.enqueueStamp(this.queue.name, this.#tenantFree, options.tenant);
    const stamped = jobs.map((j) => ({ name: j.name, data: stamp(j.data, s, this.queue.name), ...(j.opts ? { opts: j.opts } : {}) }));
    return (await this.queue.addBulk(stamped)) as Job<Stamped<T>>[];
  }

  /**
   * Creates or updates a repeated job of the current context's tenant (or `options.tenant`). The
   * scheduler's id is made per tenant (`<tenant id>:<id>`), so two tenants' schedulers of the same
   * id never replace each other; every job it produces carries the tenant.
   *
   * @example
   * ```ts
   * await tenancy.run('acme', () => reports.upsertJobScheduler('daily', { pattern: '0 6 * * *' }, { name: 'report', data: {} }));
   * ```
   */
  async upsertJobScheduler(
    id: string,
    repeat: Omit<RepeatOptions, 'key'>,
    template: { readonly name?: string; readonly data: T; readonly opts?: JobSchedulerTemplateOptions },
    options: ForTenant = {},
  ): Promise<{ readonly schedulerId: string }> {
    const s = await this.#gate.enqueueStamp(this.queue.name, this.#tenantFree, options.tenant);
    const schedulerId = schedulerIdFor(s, id);
    await this.queue.upsertJobScheduler(schedulerId, repeat, {
      ...(template.name === undefined ? {} : { name: template.name }),
      data: stamp(template.data, s, this.queue.name),
      ...(template.opts === undefined ? {} : { opts: template.opts }),
    });
    return { schedulerId };
  }

  /** Removes the current context's tenant's (or `options.tenant`'s) repeated job `id`; false when there was none. */
  async removeJobScheduler(id: string, options: ForTenant = {}): Promise<boolean> {
    const s = await this.#gate.enqueueStamp(this.queue.name, this.#tenantFree, options.tenant);
    return await this.queue.removeJobScheduler(schedulerIdFor(s, id));
  }

  /** Closes the queue's connection. */
  async close(): Promise<void> {
    await this.queue.close();
  }
}

function schedulerIdFor(s: TenantStamp | undefined, id: string): string {
  if (typeof id !== 'string' || id === '') throw invalidArgument('a job scheduler needs a non-empty id');
  return s === undefined ? id : `${s.tenantId}:${id}`;
}

/**
 * Tenant-aware queues, workers and flows on BullMQ.
 *
 * @example
 * ```ts
 * const jobs = new BullMqJobs(tenancy, { connection: { host: 'localhost', port: 6379 } });
 * const emails = jobs.queue<{ to: string }>('emails');
 * jobs.worker<{ to: string }>('emails', async ({ data }) => {
 *   await tenancy.withTenant((db) => db.query('insert into outbox (recipient) values ($1)', [data.to]));
 * });
 * await tenancy.run('acme', () => emails.add('welcome', { to: 'a@acme.test' }, { attempts: 3 }));
 * ```
 */
export class BullMqJobs {
  /** Outcome counts of the jobs this process ran. */
  readonly stats: JobStats;
  readonly #gate: TenantGate;
  readonly #options: BullMqJobsOptions;
  readonly #queues = new Map<string, TenantQueue<object>>();
  readonly #workers: Worker[] = [];
  readonly #clients: { quit(): Promise<unknown>; disconnect(): void }[] = [];
  #flows: FlowProducer | undefined;
  #closed = false;

  constructor(tenancy: Tenancy, options: BullMqJobsOptions) {
    if (options?.connection === undefined) throw invalidArgument('BullMqJobs needs a Redis connection ({ connection: { host, port } })');
    this.#options = Object.freeze({ ...options });
    this.#gate = new TenantGate(tenancy, options);
    this.stats = options.stats ?? new JobStats();
  }

  /** The gate that admits jobs into their tenant, for code that wraps processors itself (the Nest module). */
  get gate(): TenantGate {
    return this.#gate;
  }

  /** The queue `name` (made on first use; later calls return the same one and must agree on `tenantFree`). */
  queue<T extends object>(name: string, options: BullMqQueueOptions = {}): TenantQueue<T> {
    this.#assertOpen();
    const existing = this.#queues.get(name);
    const { tenantFree, ...queueOptions } = options;
    if (existing !== undefined) {
      if (tenantFree !== undefined && existing.tenantFree !== tenantFree) {
        throw invalidArgument(`queue '${name}' was declared ${existing.tenantFree ? '' : 'not '}tenant-free before`);
      }
      return existing as TenantQueue<T>;
    }
    const queue = new Queue(name, { ...queueOptions, ...this.#connection() });
    const made = new TenantQueue<T>(queue, this.#gate, tenantFree === true);
    this.#queues.set(name, made as TenantQueue<object>);
    return made;
  }

  /**
   * Adds a flow (a parent job and its children, any depth): every job of it carries the current
   * context's tenant (or `options.tenant`), except jobs of queues declared tenant-free here.
   */
  async addFlow(flow: FlowJob, options: ForTenant = {}): Promise<JobNode> {
    this.#assertOpen();
    const s = await this.#gate.enqueueStamp(flow.queueName, this.#queues.get(flow.queueName)?.tenantFree === true, options.tenant);
    this.#flows ??= new FlowProducer(this.#connection());
    return await this.#flows.add(this.#stampFlow(flow, s) as FlowJob);
  }

  /**
   * Starts a worker on `name` whose handler runs inside each job's tenant. The handler's second
   * argument is BullMQ's job (its `data` still holds `__tenantry`), e.g. for `getChildrenValues()`.
   */
  worker<T extends object, R = unknown>(
    name: string,
    handler: JobHandler<T, R, Job<Stamped<T>>>,
    options: Omit<WorkerOptions, 'connection' | 'prefix'> & TenantQueueFlags = {},
  ): Worker<Stamped<T>, R | undefined> {
    this.#assertOpen();
    const { tenantFree, ...workerOptions } = options;
    const free = tenantFree ?? this.#queues.get(name)?.tenantFree ?? false;
    const processor = tenantProcessor<Stamped<T>, R>(this.#gate, this.stats, { queue: name, tenantFree: free }, (job, _token, signal) => {
      const { [TENANT_KEY]: _s, ...data } = job.data as Record<string, unknown>;
      void _s;
      return handler(
        {
          id: job.id ?? '?',
          originId: job.id ?? '?',
          queue: name,
          data: data as T,
          tenant: currentTenant(),
          attempt: job.attemptsMade,
          signal,
        },
        job,
      );
    });
    // Started outside any tenant: BullMQ's loops must not inherit the caller's context.
    const worker = outsideTenant(() => new Worker<Stamped<T>, R | undefined>(name, processor, { ...workerOptions, ...this.#connection() }));
    this.#workers.push(worker as Worker);
    return worker;
  }

  /** Closes every worker (waiting for running jobs), queue and flow producer made here. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.close()));
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.#flows?.close();
    await Promise.all(this.#clients.map((c) => c.quit().catch(() => c.disconnect())));
  }

  #stampFlow(node: FlowJob | NonNullable<FlowJob['children']>[number], s: TenantStamp | undefined): object {
    const free = this.#queues.get(node.queueName)?.tenantFree === true;
    const children = 'children' in node && node.children ? node.children.map((c) => this.#stampFlow(c, s)) : undefined;
    return {
      ...node,
      data: stamp((node.data ?? {}) as object, free ? undefined : s, node.queueName),
      ...(children === undefined ? {} : { children }),
    };
  }

  /**
   * The connection for one more queue, worker or flow producer. BullMQ's ESM build cannot load
   * ioredis itself from options (it has no `require`), so options become a client made here.
   */
  #connection(): { connection: ConnectionOptions; prefix?: string } {
    const given = this.#options.connection;
    const prefix = this.#options.prefix === undefined ? {} : { prefix: this.#options.prefix };
    if (typeof (given as { duplicate?: unknown }).duplicate === 'function') return { connection: given, ...prefix };
    const IORedis = loadIORedis();
    const client = new IORedis({ ...(given as object), maxRetriesPerRequest: null });
    this.#clients.push(client);
    return { connection: client as unknown as ConnectionOptions, ...prefix };
  }

  #assertOpen(): void {
    if (this.#closed) throw new TenantryError(ErrorCodes.TENANCY_CLOSED, 'these BullMqJobs were closed; make new ones');
  }
}
