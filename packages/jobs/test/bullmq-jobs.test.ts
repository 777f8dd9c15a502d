import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { currentTenant, type Logger } from '@tenantry/core';
import { TENANT_KEY, type JobContext } from '../dist/index.js';
import { BullMqJobs } from '../dist/bullmq.js';
import { allMarks, createTenants, runMark, seeded, setupHarness, waitFor, type MarkJob } from './helpers.js';
import { redisSkip, useRedis } from './redis-suite.js';

const skip = redisSkip();
const h = await setupHarness();
// The figures are 10,000 jobs over 100 tenants; scaled so the file stays well under a minute on 2 quiet cores.
const JOBS = Number(process.env['TENANTRY_JOBS_COUNT'] ?? 1000);
const TENANTS = Number(process.env['TENANTRY_JOBS_TENANTS'] ?? 20);

function recordingLogger(): Logger & { lines: { obj: object; msg: string | undefined }[] } {
  const lines: { obj: object; msg: string | undefined }[] = [];
  const log = (obj: object, msg?: string) => void lines.push({ obj, msg });
  return { lines, debug: log, info: log, warn: log, error: log };
}

describe.skipIf(skip)('@tenantry/jobs on BullMQ', () => {
  const redis = useRedis();
  const connection = () => ({ host: redis.current().host, port: redis.current().port });

  it('refuses to add outside a tenant context unless the queue is tenant-free, which then runs outside any tenant', async () => {
    const tenancy = await h.tenancy();
    const [t] = await createTenants(tenancy, 'free', 1);
    const jobs = new BullMqJobs(tenancy, { connection: connection(), prefix: 'free' });
    try {
      const strict = jobs.queue('needs-tenant');
      const free = jobs.queue('maintenance', { tenantFree: true });
      await expect(strict.add('x', { a: 1 })).rejects.toMatchObject({ code: 'TENANT_REQUIRED' });
      const seen: string[] = [];
      await tenancy.run(t!.id, () =>
        jobs.worker('maintenance', async ({ tenant }) => void seen.push(tenant?.id ?? currentTenant()?.id ?? 'none')),
      );
      await free.add('x', { a: 1 });
      await tenancy.run(t!.id, () => free.add('x', { a: 2 }));
      await waitFor('two tenant-free jobs', () => seen.length === 2);
      expect(seen).toEqual(['none', 'none']);
      const job = await strict.add('x', { a: 3 }, { tenant: t!.slug });
      expect(job.data[TENANT_KEY]).toEqual({ tenantId: t!.id });
    } finally {
      await jobs.close();
    }
  });

  it(`${JOBS} jobs over ${TENANTS} tenants each run in their own tenant, retried and delayed ones too, none twice, none while suspended`, async () => {
    const tenancy = await h.tenancy();
    const tenants = await createTenants(tenancy, 'bulk', TENANTS, TENANTS / 4);
    const suspended = [tenants[0]!, tenants[TENANTS - 1]!];
    const isSuspended = (d: MarkJob) => suspended.some((t) => t.id === d.expect);
    const jobs = new BullMqJobs(tenancy, { connection: connection(), prefix: 'bulk', deferSeconds: 1 });
    const admin = new pg.Pool({ connectionString: h.db.url, max: 2 });
    try {
      const queue = jobs.queue<MarkJob>('mark');
      const random = seeded(19);
      const sent: MarkJob[] = [];
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < JOBS; i++) {
        const t = tenants[i % tenants.length]!;
        const r = random();
        const data: MarkJob = { key: `job-${i}`, expect: t.id, failFirst: r < 0.1 };
        sent.push(data);
        const delay = r >= 0.1 && r < 0.15 ? 1500 : 0;
        batch.push(tenancy.run(t.id, () => queue.add('mark', data, { attempts: 3, delay })));
        if (batch.length === 100) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
      for (const t of suspended) await tenancy.tenants.suspend(t.id);
      const completed = () => [...jobs.stats.byQueue().values()].reduce((n, c) => n + c.completed, 0);
      const handler = ({ data, attempt }: JobContext<MarkJob>) => runMark(tenancy, admin, data, attempt);
      jobs.worker('mark', handler, { concurrency: 6 });
      const active = sent.filter((d) => !isSuspended(d));
      await waitFor('every job of an ACTIVE tenant to complete', () => completed() === active.length, 100_000, 200);
      const marks = await allMarks(
        tenancy,
        tenants.filter((t) => !suspended.includes(t)),
      );
      for (const d of active) expect(marks.get(d.key), d.key).toEqual({ holder: d.expect, runs: 1, tenantId: d.expect });
      const counts = jobs.stats.forTenant(suspended[0]!.id);
      expect(counts.deferred).toBeGreaterThan(0);
      expect(counts.completed + counts.failed + counts.rejected + counts.retried).toBe(0);
      for (const t of suspended) await tenancy.tenants.resume(t.id);
      await waitFor('the resumed tenants’ jobs', () => completed() === sent.length, 20_000, 200);
      const late = await allMarks(tenancy, suspended);
      for (const d of sent.filter(isSuspended)) expect(late.get(d.key), d.key).toEqual({ holder: d.expect, runs: 1, tenantId: d.expect });
      expect((await h.admin.query('select * from public.violations')).rows).toEqual([]);
      let retried = 0;
      for (const t of tenants) retried += jobs.stats.forTenant(t.id).retried;
      expect(retried).toBe(sent.filter((d) => d.failFirst).length);
      expect(await queue.queue.getJobCounts('failed', 'completed')).toEqual({ failed: 0, completed: JOBS });
    } finally {
      await jobs.close();
      await admin.end();
    }
  }, 240_000);

  it('discards a DELETED tenant’s job with a log line and fails an unknown tenant’s with TENANT_NOT_FOUND, without retries', async () => {
    const tenancy = await h.tenancy();
    const [doomed] = await createTenants(tenancy, 'doomed', 1);
    const logger = recordingLogger();
    const jobs = new BullMqJobs(tenancy, { connection: connection(), prefix: 'gone', logger });
    try {
      const queue = jobs.queue('q');
      const deletedJob = await tenancy.run(doomed!.id, () => queue.add('x', { n: 1 }, { attempts: 3 }));
      await tenancy.tenants.delete(doomed!.id);
      const ghost = randomUUID();
      const unknownJob = await queue.queue.add('x', { n: 2, [TENANT_KEY]: { tenantId: ghost } }, { attempts: 3 });
      const ran: unknown[] = [];
      jobs.worker('q', async ({ data }) => void ran.push(data));
      await waitFor('both jobs settled', async () => {
        const c = await queue.queue.getJobCounts('completed', 'failed');
        return c['completed']! + c['failed']! === 2;
      });
      expect(ran).toEqual([]);
      expect(await (await queue.queue.getJob(deletedJob.id!))!.getState()).toBe('completed');
      const u = (await queue.queue.getJob(unknownJob.id!))!;
      expect(await u.getState()).toBe('failed');
      expect(u.attemptsMade).toBe(1);
      expect(u.failedReason).toMatch(/^TENANT_NOT_FOUND: /);
      expect(logger.lines.some((l) => l.msg === 'job discarded: its tenant is DELETED')).toBe(true);
    } finally {
      await jobs.close();
    }
  });

  it('repeated jobs run in the tenant that scheduled them, and two tenants’ schedulers of one id stay apart', async () => {
    const tenancy = await h.tenancy();
    const [a, b] = await createTenants(tenancy, 'rep', 2);
    const jobs = new BullMqJobs(tenancy, { connection: connection(), prefix: 'rep' });
    try {
      const queue = jobs.queue<{ label: string }>('tick');
      const runs: { label: string; tenant: string | undefined }[] = [];
      jobs.worker<{ label: string }>('tick', async ({ data }) => void runs.push({ label: data.label, tenant: currentTenant()?.slug }));
      const ids = [];
      for (const t of [a!, b!]) {
        ids.push(
          await tenancy.run(t.id, () =>
            queue.upsertJobScheduler('tick', { every: 200, limit: 3 }, { name: 'tick', data: { label: t.slug } }),
          ),
        );
      }
      expect(ids[0]!.schedulerId).not.toBe(ids[1]!.schedulerId);
      await waitFor('three runs per tenant', () => runs.length >= 6, 20_000);
      expect(runs.filter((r) => r.tenant === a!.slug).every((r) => r.label === a!.slug)).toBe(true);
      expect(runs.filter((r) => r.tenant === b!.slug).every((r) => r.label === b!.slug)).toBe(true);
      expect(runs.filter((r) => r.tenant === a!.slug).length).toBe(3);
      expect(await tenancy.run(a!.id, () => queue.removeJobScheduler('tick'))).toBe(true);
    } finally {
      await jobs.close();
    }
  });

  it('a flow’s parent and children all run in the tenant that added it', async () => {
    const tenancy = await h.tenancy();
    const tenants = await createTenants(tenancy, 'flow', 3, 1);
    const jobs = new BullMqJobs(tenancy, { connection: connection(), prefix: 'flow' });
    const admin = new pg.Pool({ connectionString: h.db.url, max: 2 });
    try {
      jobs.queue('parts');
      jobs.queue('whole');
      jobs.worker<MarkJob>('parts', async ({ data, attempt }) => runMark(tenancy, admin, data, attempt));
      const parents: { tenant: string | undefined; children: string[] }[] = [];
      jobs.worker<MarkJob>('whole', async ({ data, attempt }, job) => {
        await runMark(tenancy, admin, data, attempt);
        const values = Object.values(await job.getChildrenValues<{ key: string }>()).map((v) => v.key);
        parents.push({ tenant: currentTenant()?.id, children: values.sort() });
      });
      for (const t of tenants) {
        await tenancy.run(t.id, () =>
          jobs.addFlow({
            name: 'whole',
            queueName: 'whole',
            data: { key: `${t.slug}-parent`, expect: t.id },
            children: [0, 1, 2].map((i) => ({
              name: 'part',
              queueName: 'parts',
              data: { key: `${t.slug}-child-${i}`, expect: t.id, failFirst: i === 1 },
              opts: { attempts: 2 },
            })),
          }),
        );
      }
      await waitFor('three parents', () => parents.length === 3, 20_000);
      for (const t of tenants) {
        expect(parents.find((p) => p.tenant === t.id)?.children).toEqual([0, 1, 2].map((i) => `${t.slug}-child-${i}`));
      }
      const marks = await allMarks(tenancy, tenants);
      expect(marks.size).toBe(12);
      for (const [key, m] of marks) expect(key.startsWith(tenants.find((t) => t.id === m.holder)!.slug)).toBe(true);
      expect((await h.admin.query('select * from public.violations')).rows).toEqual([]);
    } finally {
      await jobs.close();
      await admin.end();
    }
  });
});
