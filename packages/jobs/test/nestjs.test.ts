import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { Registry } from 'prom-client';
import { Controller, Get, Inject, Injectable, Module, Param, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { currentTenant, type Tenancy, type Tenant } from '@tenantry/core';
import { CurrentTenant, header, TENANCY, TenancyModule } from '@tenantry/nestjs';
import type { JobContext } from '../dist/index.js';
import type { TenantQueue } from '../dist/bullmq.js';
import {
  InjectTenantQueue,
  TenantJobsModule,
  TenantJobsService,
  TenantProcessor,
  TenantSchedule,
  TenantWorker,
  tenantQueueToken,
} from '../dist/nestjs/index.js';
import { bullMqDepths, registerJobMetrics } from '../dist/prometheus.js';
import { allMarks, createTenants, runMark, setupHarness, waitFor, type MarkJob } from './helpers.js';
import { redisSkip, useRedis } from './redis-suite.js';

const skip = redisSkip();
const h = await setupHarness();
const BOSS = { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 } as const;
const seen: { via: string; key: string; param: string | undefined; context: string | undefined }[] = [];
const scheduled: { tenant: string; param: string | undefined; context: string | undefined }[] = [];
let admin: pg.Pool;

@Processor('marks-bull')
@TenantProcessor()
class MarksProcessor extends WorkerHost {
  constructor(@Inject(TENANCY) private readonly tenancy: Tenancy) {
    super();
  }
  async process(job: Job<MarkJob>, @CurrentTenant('id') tenantId?: string): Promise<unknown> {
    seen.push({ via: 'bullmq', key: job.data.key, param: tenantId, context: currentTenant()?.id });
    return await runMark(this.tenancy, admin, job.data, job.attemptsMade);
  }
}

@Injectable()
class BossWorkers {
  constructor(@Inject(TENANCY) private readonly tenancy: Tenancy) {}

  @TenantWorker('marks-boss', { queue: { retryLimit: 1, retryDelay: 0 }, work: { pollingIntervalSeconds: 0.5 } })
  async mark(job: JobContext<MarkJob>, _raw: unknown, @CurrentTenant() tenant?: Tenant): Promise<unknown> {
    seen.push({ via: 'pg-boss', key: job.data.key, param: tenant?.id, context: currentTenant()?.id });
    return await runMark(this.tenancy, admin, job.data, job.attempt);
  }
}

@Controller()
class EnqueueController {
  constructor(
    @InjectTenantQueue('marks-bull') private readonly queue: TenantQueue<MarkJob>,
    private readonly jobs: TenantJobsService,
  ) {}

  @Get('enqueue/:key')
  async enqueue(@Param('key') key: string): Promise<{ ok: true }> {
    const expect = currentTenant()!.id; // the request's tenant, from x-tenant-id
    const failFirst = key.endsWith('-0'); // the first attempt throws: the retry must run in the tenant too
    await this.queue.add('mark', { key: `bull-${key}`, expect, failFirst }, { attempts: 2 });
    await this.jobs.pgBoss.send('marks-boss', { key: `boss-${key}`, expect, failFirst });
    return { ok: true };
  }
}

@Injectable()
class Sweeper {
  @TenantSchedule({ everyMs: 1000, name: 'sweep', concurrency: 2 })
  async sweep(tenant: Tenant, @CurrentTenant('id') param?: string): Promise<void> {
    scheduled.push({ tenant: tenant.id, param, context: currentTenant()?.id });
  }
}

async function boot(tenancy: Tenancy, module: object): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(module as never, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

describe.skipIf(skip)('@tenantry/jobs/nestjs', () => {
  const redis = useRedis();

  it('carries the request’s tenant into a @nestjs/bullmq processor and a pg-boss worker, where @CurrentTenant() works', async () => {
    const tenancy = await h.tenancy();
    const tenants = await createTenants(tenancy, 'nest', 3, 1);
    admin = new pg.Pool({ connectionString: h.db.url, max: 2 });
    @Module({
      imports: [
        TenancyModule.forRoot({ tenancy, resolvers: [header('x-tenant-id')] }),
        BullModule.forRoot({ connection: { host: '127.0.0.1', port: redis.current().port } }),
        TenantJobsModule.forRoot({
          pgBoss: { connectionString: h.db.url, boss: BOSS },
          bullQueues: ['marks-bull'],
          counts: { flushMs: 0 },
        }),
      ],
      controllers: [EnqueueController],
      providers: [MarksProcessor, BossWorkers],
    })
    class AppModule {}
    const { app, url } = await boot(tenancy, AppModule);
    try {
      for (const t of tenants) {
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${url}/enqueue/${t.slug}-${i}`, { headers: { 'x-tenant-id': t.slug } });
          expect(res.status).toBe(200);
        }
      }
      // Outside a request there is no tenant: the producer refuses.
      const queue = app.get<TenantQueue<MarkJob>>(tenantQueueToken('marks-bull'));
      await expect(queue.add('mark', { key: 'x', expect: 'none' })).rejects.toMatchObject({ code: 'TENANT_REQUIRED' });
      await waitFor('18 jobs and 6 retries', () => seen.length === 24, 30_000);
      for (const s of seen) {
        const expected = tenants.find((t) => s.key.includes(`-${t.slug}-`))!.id;
        expect(s).toMatchObject({ param: expected, context: expected });
      }
      expect(seen.filter((s) => s.via === 'bullmq')).toHaveLength(12);
      const marks = await allMarks(tenancy, tenants);
      expect(marks.size).toBe(18);
      for (const [, m] of marks) expect(m).toMatchObject({ runs: 1 });
      expect((await h.admin.query('select * from public.violations')).rows).toEqual([]);
      const jobs = app.get(TenantJobsService);
      await jobs.counts.flush();
      expect(await jobs.counts.forTenant(tenants[0]!.id)).toMatchObject({ completed: 6, retried: 2, failed: 0 });
      // One JobStats for both backends; BullMQ's queue depths read from Redis.
      const registry = new Registry();
      registerJobMetrics(registry, { stats: jobs.stats, depths: bullMqDepths([queue.queue]) });
      const text = await registry.metrics();
      expect(text).toContain('tenantry_jobs_runs_total{queue="marks-bull",outcome="completed"} 9');
      expect(text).toContain('tenantry_jobs_runs_total{queue="marks-boss",outcome="retried"} 3');
      expect(text).toContain('tenantry_jobs_queue_jobs{queue="marks-bull",state="completed"} 9');
    } finally {
      await app.close();
      await admin.end();
    }
  });

  it('runs a @TenantSchedule() method in every ACTIVE tenant, skips a suspended one, and stops on shutdown', async () => {
    const tenancy = await h.tenancy();
    const tenants = await createTenants(tenancy, 'sched', 4);
    await tenancy.tenants.suspend(tenants[3]!.id);
    @Module({
      imports: [TenancyModule.forRoot({ tenancy, resolvers: [header('x-tenant-id')] }), TenantJobsModule.forRoot()],
      providers: [Sweeper],
    })
    class ScheduleModule {}
    const { app } = await boot(tenancy, ScheduleModule);
    const active = tenants.slice(0, 3).map((t) => t.id);
    try {
      await waitFor('a fan-out over the active tenants', () => active.every((id) => scheduled.some((s) => s.tenant === id)), 15_000);
      for (const s of scheduled) expect(s).toEqual({ tenant: s.tenant, param: s.tenant, context: s.tenant });
      expect(scheduled.some((s) => s.tenant === tenants[3]!.id)).toBe(false);
      const runs = await app.get(TenantJobsService).schedules!.lastRuns('sweep');
      expect(runs.filter((r) => active.includes(r.tenantId)).every((r) => r.status === 'ok')).toBe(true);
    } finally {
      await app.close();
    }
    const after = scheduled.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(scheduled.length).toBe(after);
  });
});
