import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { currentTenant, type Logger } from '@tenantry/core';
import { TENANT_KEY, type JobContext } from '../dist/index.js';
import { PgBossJobs } from '../dist/pg-boss.js';
import { allMarks, codeOf, createTenants, runMark, seeded, setupHarness, waitFor, type MarkJob } from './helpers.js';

const h = await setupHarness();
// The figures are 10,000 jobs over 100 tenants; scaled so the file stays well under a minute on 2 quiet cores.
const JOBS = Number(process.env['TENANTRY_JOBS_COUNT'] ?? 1000);
const TENANTS = Number(process.env['TENANTRY_JOBS_TENANTS'] ?? 20);
const BOSS = { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 } as const;

function recordingLogger(): Logger & { lines: { obj: object; msg: string | undefined }[] } {
  const lines: { obj: object; msg: string | undefined }[] = [];
  const log = (obj: object, msg?: string) => void lines.push({ obj, msg });
  return { lines, debug: log, info: log, warn: log, error: log };
}

describe('@tenantry/jobs on pg-boss', () => {
  it('keeps its tables in the registry database, in a schema of its own', async () => {
    const tenancy = await h.tenancy();
    const jobs = await PgBossJobs.start(tenancy, { connectionString: h.db.url, boss: BOSS });
    try {
      const { rows } = await h.admin.query<{ n: number }>(
        "select count(*)::int as n from information_schema.tables where table_schema = 'tenantry_boss' and table_name in ('job', 'queue')",
      );
      expect(rows[0]!.n).toBe(2);
    } finally {
      await jobs.stop();
    }
  });

  it('refuses to send outside a tenant context unless the queue is tenant-free, which then runs outside any tenant', async () => {
    const tenancy = await h.tenancy();
    const [t] = await createTenants(tenancy, 'free', 1);
    const jobs = await PgBossJobs.start(tenancy, { connectionString: h.db.url, boss: BOSS });
    try {
      await jobs.createQueue('needs-tenant');
      await jobs.createQueue('maintenance', { tenantFree: true });
      await expect(jobs.send('needs-tenant', { a: 1 })).rejects.toMatchObject({ code: 'TENANT_REQUIRED' });
      const seen: (string | undefined)[] = [];
      // Started inside a tenant's context: a tenant-free job must still not inherit it.
      await tenancy.run(t!.id, () =>
        jobs.work('maintenance', async ({ tenant }) => void seen.push(tenant?.id ?? currentTenant()?.id ?? 'none'), {
          pollingIntervalSeconds: 0.5,
        }),
      );
      await jobs.send('maintenance', { a: 1 });
      await tenancy.run(t!.id, () => jobs.send('maintenance', { a: 2 })); // sent inside a tenant: still tenant-free
      await waitFor('two tenant-free jobs', () => seen.length === 2);
      expect(seen).toEqual(['none', 'none']);
      // An explicit tenant works from outside any context.
      const id = await jobs.send('needs-tenant', { a: 3 }, { tenant: t!.slug });
      const job = await jobs.boss.findJobs<Record<string, unknown>>('needs-tenant', { id: id! });
      expect(job[0]!.data[TENANT_KEY]).toEqual({ tenantId: t!.id });
    } finally {
      await jobs.stop();
    }
  });

  it(`${JOBS} jobs over ${TENANTS} tenants each run in their own tenant, retried and delayed ones too, none twice, none while suspended`, async () => {
    const tenancy = await h.tenancy();
    const t0 = Date.now();
    const tenants = await createTenants(tenancy, 'bulk', TENANTS, TENANTS / 4);
    const suspended = [tenants[0]!, tenants[TENANTS - 1]!]; // a database tenant and a schema tenant
    const isSuspended = (d: MarkJob) => suspended.some((t) => t.id === d.expect);
    const jobs = await PgBossJobs.start(tenancy, { connectionString: h.db.url, deferSeconds: 1, boss: BOSS });
    const admin = new pg.Pool({ connectionString: h.db.url, max: 2 });
    try {
      await jobs.createQueue('mark', { retryLimit: 2, retryDelay: 0 });
      const t1 = Date.now();
      const completed = () => [...jobs.stats.byQueue().values()].reduce((n, c) => n + c.completed, 0);
      const random = seeded(19);
      const sent: MarkJob[] = [];
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < JOBS; i++) {
        const t = tenants[i % tenants.length]!;
        const r = random();
        const data: MarkJob = { key: `job-${i}`, expect: t.id, failFirst: r < 0.1 };
        sent.push(data);
        const delayed = r >= 0.1 && r < 0.15;
        batch.push(tenancy.run(t.id, () => jobs.send('mark', data, delayed ? { startAfter: 2 } : {})));
        if (batch.length === 100) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
      // Suspended after their jobs were queued, before any ran.
      for (const t of suspended) await tenancy.tenants.suspend(t.id);
      const t2 = Date.now();
      console.log(`pg-boss: ${TENANTS} tenants in ${t1 - t0} ms, ${JOBS} sends in ${t2 - t1} ms`);
      const handler = ({ data, attempt }: JobContext<MarkJob>) => runMark(tenancy, admin, data, attempt);
      // burstWhenBatchFull: a full batch is fetched after at once, not after pollingIntervalSeconds.
      await jobs.work('mark', handler, { batchSize: 10, localConcurrency: 6, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true });
      const active = sent.filter((d) => !isSuspended(d));
      await waitFor('every job of an ACTIVE tenant to complete', () => completed() === active.length, 100_000, 200);
      const t3 = Date.now();
      console.log(`pg-boss: ${active.length} jobs run in ${t3 - t2} ms`);
      const marks = await allMarks(
        tenancy,
        tenants.filter((t) => !suspended.includes(t)),
      );
      for (const d of active) expect(marks.get(d.key), d.key).toEqual({ holder: d.expect, runs: 1, tenantId: d.expect });
      // Nothing ran for the suspended tenants: their jobs were deferred, not failed.
      const counts = jobs.stats.forTenant(suspended[0]!.id);
      expect(counts.deferred).toBeGreaterThan(0);
      expect(counts.completed + counts.failed + counts.rejected).toBe(0);
      for (const t of suspended) await tenancy.tenants.resume(t.id);
      const mine = sent.filter(isSuspended);
      await waitFor('the resumed tenants’ jobs', () => completed() === sent.length, 20_000, 200);
      const late = await allMarks(tenancy, suspended);
      for (const d of mine) expect(late.get(d.key), d.key).toEqual({ holder: d.expect, runs: 1, tenantId: d.expect });
      const { rows: violations } = await h.admin.query('select * from public.violations');
      expect(violations).toEqual([]);
      const retried = sent.filter((d) => d.failFirst).length;
      let totalRetried = 0;
      for (const t of tenants) totalRetried += jobs.stats.forTenant(t.id).retried;
      expect(totalRetried).toBe(retried);
      const { rows: states } = await h.admin.query<{ state: string; n: number }>(
        "select state::text, count(*)::int as n from tenantry_boss.job where name = 'mark' group by 1 order by 1",
      );
      expect(states.find((s) => s.state === 'failed')).toBeUndefined();
    } finally {
      await jobs.stop();
      await admin.end();
    }
  }, 240_000);

  it('discards a DELETED tenant’s job with a log line and rejects an unknown tenant’s with TENANT_NOT_FOUND, without retries', async () => {
    const tenancy = await h.tenancy();
    const [doomed] = await createTenants(tenancy, 'doomed', 1);
    const logger = recordingLogger();
    const jobs = await PgBossJobs.start(tenancy, { connectionString: h.db.url, logger, boss: BOSS });
    try {
      await jobs.createQueue('q', { retryLimit: 3 });
      const ran: string[] = [];
      const deletedJob = await tenancy.run(doomed!.id, () => jobs.send('q', { n: 1 }));
      await tenancy.tenants.delete(doomed!.id);
      const ghost = randomUUID();
      const unknownJob = await jobs.boss.send('q', { n: 2, [TENANT_KEY]: { tenantId: ghost } });
      await jobs.work('q', async ({ data }) => void ran.push(JSON.stringify(data)), { pollingIntervalSeconds: 0.5 });
      await waitFor('both jobs settled', async () => {
        const found = await jobs.boss.findJobs('q', {});
        return found.length === 2 && found.every((j) => j.state === 'completed' || j.state === 'failed');
      });
      expect(ran).toEqual([]);
      const [d] = await jobs.boss.findJobs('q', { id: deletedJob! });
      expect(d).toMatchObject({ state: 'completed', output: { tenantry: 'discarded', status: 'DELETED' } });
      const [u] = await jobs.boss.findJobs('q', { id: unknownJob! });
      expect(u).toMatchObject({ state: 'failed', retryCount: 0, output: { code: 'TENANT_NOT_FOUND' } });
      expect(
        logger.lines.some((l) => l.msg === 'job discarded: its tenant is DELETED' && (l.obj as { tenant?: string }).tenant === doomed!.id),
      ).toBe(true);
      expect(jobs.stats.forTenant(ghost).rejected).toBe(1);
      // Sending for a deleted tenant fails at once.
      expect(codeOf(await jobs.send('q', { n: 3 }, { tenant: doomed!.id }).catch((e) => e))).toBe('TENANT_NOT_FOUND');
    } finally {
      await jobs.stop();
    }
  });
});
