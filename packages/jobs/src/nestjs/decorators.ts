import { Inject, type Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { invalidArgument } from '@tenantry/core';
import type { PgBossQueueOptions, PgBossWorkOptions } from '../pg-boss-jobs.js';
import { TenantJobsService } from './tenant-jobs.service.js';
import { TENANT_SCHEDULE, TENANT_WORKER, tenantQueueToken } from './tenant-jobs.constants.js';

/** Where `@TenantProcessor()` has Nest inject the runtime into a processor instance. */
export const RUNTIME = Symbol('tenantry:jobs:runtime');

/** Options of {@link TenantProcessor}. */
export interface TenantProcessorOptions {
  /** The queue's jobs carry no tenant: they run outside any tenant context. */
  readonly tenantFree?: boolean;
}

/**
 * Makes a `@nestjs/bullmq` processor tenant-aware: each attempt of each job runs inside
 * `tenancy.run()` of the tenant the job was sent for (`currentTenant()`, `tenancy.withTenant(fn)`,
 * the ORM adapters, and `@CurrentTenant()` on `process`'s parameters). Suspended tenants' jobs go
 * back to delayed, deleted tenants' are dropped, unknown tenants' fail for good (see docs/jobs.md).
 * Needs `TenantJobsModule` imported once.
 *
 * @example
 * ```ts
 * @Processor('emails')
 * @TenantProcessor()
 * export class EmailsProcessor extends WorkerHost {
 *   async process(job: Job<{ to: string }>, @CurrentTenant() tenant?: Tenant) {
 *     await this.tenancy.withTenant((db) => db.query('insert into outbox (recipient) values ($1)', [job.data.to]));
 *   }
 * }
 * ```
 */
export function TenantProcessor(options: TenantProcessorOptions = {}): ClassDecorator {
  return (target) => {
    const proto = target.prototype as Record<PropertyKey, unknown>;
    const inner = proto['process'];
    if (typeof inner !== 'function') throw invalidArgument(`@TenantProcessor(): ${target.name} has no process(job) method`);
    Inject(TenantJobsService)(proto, RUNTIME);
    const args = paramFactories(target as unknown as Type, 'process', inner, 'bullmq');
    const tenantFree = options.tenantFree === true;
    Object.defineProperty(proto, 'process', {
      configurable: true,
      writable: true,
      value: async function process(this: Record<PropertyKey, unknown>, job: { queueName: string }, token?: string, signal?: AbortSignal) {
        const runtime = this[RUNTIME] as TenantJobsService | undefined;
        if (runtime === undefined) {
          throw invalidArgument(`@TenantProcessor() ${target.name}: import TenantJobsModule.forRoot() in the application`);
        }
        return await runtime.runBullMq(job, token, signal, tenantFree, (j, t, s) => inner.apply(this, args([j, t, s])));
      },
    });
  };
}

/** Options of {@link TenantWorker}. */
export interface TenantWorkerOptions {
  /** The queue's pg-boss options (retries, expiry…) and `tenantFree`; the queue is created on bootstrap. */
  readonly queue?: PgBossQueueOptions;
  /** pg-boss's work options (`batchSize`, `localConcurrency`, `pollingIntervalSeconds`…). */
  readonly work?: PgBossWorkOptions;
}

/** @internal What `@TenantWorker()` records. */
export interface TenantWorkerMetadata extends TenantWorkerOptions {
  readonly name: string;
}

/**
 * Works a pg-boss queue with this method, started on application bootstrap and stopped on
 * shutdown: the method runs inside the job's tenant (same rules as `PgBossJobs.work`). It is
 * called with `(job, raw)`: the {@link JobContext} and pg-boss's job; `@CurrentTenant()` may
 * take any parameter's place.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Invoices {
 *   @TenantWorker('send-invoice', { queue: { retryLimit: 3 } })
 *   async send({ data }: JobContext<{ invoiceId: string }>, _raw: unknown, @CurrentTenant() tenant?: Tenant) {}
 * }
 * ```
 */
export function TenantWorker(queue: string, options: TenantWorkerOptions = {}): MethodDecorator {
  if (typeof queue !== 'string' || queue === '') throw invalidArgument('@TenantWorker() needs a queue name');
  return (target, key) => {
    const list = (Reflect.getOwnMetadata(TENANT_WORKER, target.constructor) as Map<string | symbol, TenantWorkerMetadata>) ?? new Map();
    list.set(key, { name: queue, ...options });
    Reflect.defineMetadata(TENANT_WORKER, list, target.constructor);
  };
}

/** Options of {@link TenantSchedule}. */
export interface TenantScheduleOptions {
  /** Milliseconds between fan-outs, at least 1000. */
  readonly everyMs: number;
  /** The schedule's persisted name. Default `ClassName.method`. */
  readonly name?: string;
  /** Tenants run at once. Default 4. */
  readonly concurrency?: number;
  /** Random delay before each tenant's run, in [0, jitterMs). Default 0. */
  readonly jitterMs?: number;
  /** Run once at start when a slot was missed while no process ran it. Default true. */
  readonly catchUp?: boolean;
}

/**
 * Runs this method for every ACTIVE tenant, every `everyMs`, inside each tenant's context (see
 * `TenantSchedules`): registered on application bootstrap, stopped on shutdown. Called with
 * `(tenant)`; `@CurrentTenant()` works too. Its fan-outs are in `TenantJobsService.schedules`.
 *
 * @example
 * ```ts
 * @TenantSchedule({ everyMs: 5 * 60_000, concurrency: 8, jitterMs: 10_000 })
 * async expireTrials() {
 *   await this.tenancy.withTenant((db) => db.query('update trials set expired = true where ends_at < now()'));
 * }
 * ```
 */
export function TenantSchedule(options: TenantScheduleOptions): MethodDecorator {
  if (!(options?.everyMs >= 1000)) throw invalidArgument('@TenantSchedule() needs everyMs of at least 1000');
  return (target, key) => {
    const list = (Reflect.getOwnMetadata(TENANT_SCHEDULE, target.constructor) as Map<string | symbol, TenantScheduleOptions>) ?? new Map();
    list.set(key, options);
    Reflect.defineMetadata(TENANT_SCHEDULE, list, target.constructor);
  };
}

/**
 * Injects the tenant-stamping producer of a `@nestjs/bullmq` queue declared in
 * `TenantJobsModule.forRoot({ bullQueues })` (a `TenantQueue`: `add()` carries the current
 * request's tenant; `@InjectQueue()`'s plain queue does not).
 */
export const InjectTenantQueue = (name: string): PropertyDecorator & ParameterDecorator => Inject(tenantQueueToken(name));

interface CustomParam {
  readonly index: number;
  readonly factory: (data: unknown, ctx: ExecutionContextHost) => unknown;
  readonly data: unknown;
}

/**
 * @internal The arguments a decorated method is called with: the backend's, with each custom
 * parameter decorator's (`@CurrentTenant()`) value in its place, computed inside the tenant.
 */
export function paramFactories(cls: Type, method: string | symbol, handler: unknown, type: string): (given: unknown[]) => unknown[] {
  const meta = (Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, method) ?? {}) as Record<string, CustomParam>;
  const custom = Object.entries(meta)
    .filter(([k, v]) => k.includes('__customRouteArgs__') && typeof v.factory === 'function')
    .map(([, v]) => v);
  if (custom.length === 0) return (given) => given;
  return (given) => {
    const args = [...given];
    const ctx = new ExecutionContextHost(given, cls, handler as () => unknown);
    ctx.setType(type);
    for (const p of custom) args[p.index] = p.factory(p.data, ctx);
    return args;
  };
}
