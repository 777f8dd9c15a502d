import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { invalidArgument, type Tenancy, type Tenant } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import type { JobStatsStore, JobStatsStoreOptions } from '../job-stats-store.js';
import { JobStats } from '../job-stats.js';
import type { PgBossJobs, PgBossJobsOptions } from '../pg-boss-jobs.js';
import { TenantGate, type TenantGateOptions } from '../tenant-gate.js';
import type { TenantSchedules, TenantSchedulesOptions } from '../tenant-schedules.js';
import { paramFactories, type TenantScheduleOptions, type TenantWorkerMetadata } from './decorators.js';
import { TENANT_JOBS_OPTIONS, TENANT_SCHEDULE, TENANT_WORKER } from './tenant-jobs.constants.js';

/** Options of `TenantJobsModule.forRoot()`. */
export interface TenantJobsModuleOptions extends TenantGateOptions {
  /** Starts pg-boss on the registry database (for `@TenantWorker()` methods and `TenantJobsService.pgBoss`). */
  readonly pgBoss?: Omit<PgBossJobsOptions, keyof TenantGateOptions | 'stats'>;
  /**
   * `@nestjs/bullmq` queues to register (`BullModule.registerQueue`) with a tenant-stamping
   * producer each (`@InjectTenantQueue(name)`). Needs `BullModule.forRoot()` for the connection.
   */
  readonly bullQueues?: readonly (string | { readonly name: string; readonly tenantFree?: boolean })[];
  /** Schema of the schedules' state. */
  readonly schedules?: TenantSchedulesOptions;
  /** Persist per-tenant job counts in the registry database (`TenantJobsService.counts`). Default off. */
  readonly counts?: boolean | Omit<JobStatsStoreOptions, 'logger'>;
}

type Loaded<T> = Promise<T> | undefined;

/**
 * The jobs of a Nest application: the {@link TenantGate} every tenant-aware processor goes
 * through, one {@link JobStats} for all of them, pg-boss (when configured), the per-tenant
 * schedules of `@TenantSchedule()` methods and the persisted counts.
 */
@Injectable()
export class TenantJobsService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Admits jobs into their tenant. */
  readonly gate: TenantGate;
  /** Outcome counts of every job this process ran (BullMQ processors and pg-boss workers). */
  readonly stats = new JobStats();
  readonly #tenancy: Tenancy;
  readonly #options: TenantJobsModuleOptions;
  readonly #discovery: DiscoveryService;
  #pgBoss: PgBossJobs | undefined;
  #schedules: TenantSchedules | undefined;
  #counts: JobStatsStore | undefined;
  #bullmq: Loaded<typeof import('../bullmq-jobs.js')>;

  constructor(
    @Inject(TENANCY) tenancy: Tenancy,
    @Inject(TENANT_JOBS_OPTIONS) options: TenantJobsModuleOptions,
    discovery: DiscoveryService,
  ) {
    this.#tenancy = tenancy;
    this.#options = options;
    this.#discovery = discovery;
    this.gate = new TenantGate(tenancy, options);
  }

  /** The pg-boss backend; throws when `pgBoss` was not configured. */
  get pgBoss(): PgBossJobs {
    if (this.#pgBoss === undefined) throw invalidArgument('TenantJobsModule.forRoot() was given no pgBoss options');
    return this.#pgBoss;
  }

  /** The per-tenant schedules (of `@TenantSchedule()` methods); undefined when there are none. */
  get schedules(): TenantSchedules | undefined {
    return this.#schedules;
  }

  /** The persisted per-tenant counts; throws when `counts` was not enabled. */
  get counts(): JobStatsStore {
    if (this.#counts === undefined) throw invalidArgument('TenantJobsModule.forRoot() was not given counts: true');
    return this.#counts;
  }

  async onModuleInit(): Promise<void> {
    const o = this.#options;
    if (o.pgBoss !== undefined) {
      const { PgBossJobs } = await import('../pg-boss-jobs.js');
      const gateOptions = {
        ...(o.deferSeconds === undefined ? {} : { deferSeconds: o.deferSeconds }),
        ...(o.logger ? { logger: o.logger } : {}),
      };
      this.#pgBoss = await PgBossJobs.start(this.#tenancy, { ...o.pgBoss, ...gateOptions, stats: this.stats });
    }
    if (o.counts !== undefined && o.counts !== false) {
      const { persistJobStats } = await import('../job-stats-store.js');
      const given = o.counts === true ? {} : o.counts;
      this.#counts = await persistJobStats(this.#tenancy, this.stats, { ...given, ...(o.logger ? { logger: o.logger } : {}) });
    }
  }

  /** Starts the pg-boss workers and the schedules of decorated methods. */
  async onApplicationBootstrap(): Promise<void> {
    for (const wrapper of this.#discovery.getProviders()) {
      const instance = wrapper.instance as Record<string | symbol, unknown> | undefined;
      if (instance === null || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const cls = instance.constructor as new () => unknown;
      const workers = Reflect.getMetadata(TENANT_WORKER, cls) as Map<string | symbol, TenantWorkerMetadata> | undefined;
      for (const [key, meta] of workers ?? []) await this.#work(cls, instance, key, meta);
      const schedules = Reflect.getMetadata(TENANT_SCHEDULE, cls) as Map<string | symbol, TenantScheduleOptions> | undefined;
      for (const [key, meta] of schedules ?? []) await this.#schedule(cls, instance, key, meta);
    }
  }

  /** Stops schedules and pg-boss (waiting for running jobs) and flushes the counts, before the tenancy closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.#schedules?.stop();
    await this.#pgBoss?.stop();
    await this.#counts?.stop();
  }

  /** @internal Runs one attempt of a `@TenantProcessor()` job (see `tenantProcessor`). */
  async runBullMq(
    job: { queueName: string },
    token: string | undefined,
    signal: AbortSignal | undefined,
    tenantFree: boolean,
    fn: (job: unknown, token?: string, signal?: AbortSignal) => Promise<unknown>,
  ): Promise<unknown> {
    const { tenantProcessor } = await (this.#bullmq ??= import('../bullmq-jobs.js'));
    const processor = tenantProcessor(this.gate, this.stats, { queue: job.queueName, tenantFree }, fn);
    return await processor(job as never, token, signal);
  }

  async #work(cls: new () => unknown, instance: Record<string | symbol, unknown>, key: string | symbol, meta: TenantWorkerMetadata) {
    const method = instance[key] as (...args: unknown[]) => Promise<unknown>;
    const args = paramFactories(cls, key, method, 'pg-boss');
    await this.pgBoss.createQueue(meta.name, meta.queue);
    await this.pgBoss.work(meta.name, (job, raw) => method.apply(instance, args([job, raw])), meta.work);
  }

  async #schedule(cls: new () => unknown, instance: Record<string | symbol, unknown>, key: string | symbol, meta: TenantScheduleOptions) {
    if (this.#schedules === undefined) {
      const { TenantSchedules } = await import('../tenant-schedules.js');
      this.#schedules = await TenantSchedules.start(this.#tenancy, {
        ...this.#options.schedules,
        ...(this.#options.logger ? { logger: this.#options.logger } : {}),
      });
    }
    const method = instance[key] as (...args: unknown[]) => Promise<unknown>;
    const args = paramFactories(cls, key, method, 'tenant-schedule');
    await this.#schedules.add({
      name: meta.name ?? `${cls.name}.${String(key)}`,
      intervalMs: meta.everyMs,
      ...(meta.concurrency === undefined ? {} : { concurrency: meta.concurrency }),
      ...(meta.jitterMs === undefined ? {} : { jitterMs: meta.jitterMs }),
      ...(meta.catchUp === undefined ? {} : { catchUp: meta.catchUp }),
      run: (tenant: Tenant) => method.apply(instance, args([tenant])),
    });
  }
}
