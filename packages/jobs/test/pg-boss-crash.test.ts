import { describe, expect, it } from 'vitest';
import { PgBossJobs } from '../dist/pg-boss.js';
import { killWorker, startCrashWorker } from './crash.js';
import { allMarks, createTenants, seeded, setupHarness, waitFor, type MarkJob } from './helpers.js';

const h = await setupHarness();
// Scaled down from the figures so the file runs in well under a minute on 2 cores.
const JOBS = 300;
const TENANTS = 10;

describe('@tenantry/jobs on pg-boss, workers killed', () => {
  it('jobs of a worker SIGKILLed mid-job run again in their own tenant after a restart; completed ones never run twice', async () => {
    const tenancy = await h.tenancy();
    const tenants = await createTenants(tenancy, 'crash', TENANTS, 3);
    const jobs = await PgBossJobs.start(tenancy, { connectionString: h.db.url });
    const sent: MarkJob[] = [];
    try {
      await jobs.createQueue('crash', { retryLimit: 5, expireInSeconds: 5 });
      const random = seeded(7);
      for (let i = 0; i < JOBS; i++) {
        const t = tenants[i % TENANTS]!;
        sent.push({ key: `k-${i}`, expect: t.id, failFirst: random() < 0.1, sleepMs: 5 + Math.floor(random() * 20) });
      }
      // In batches: hundreds of sends at once would wait on the tenancy's 8 connections on a busy machine.
      for (let i = 0; i < sent.length; i += 50) {
        await Promise.all(sent.slice(i, i + 50).map((d) => tenancy.run(d.expect, () => jobs.send('crash', d))));
      }
    } finally {
      await jobs.stop();
    }
    const env = { JOBS_DB_URL: h.db.url };
    const everDone = new Set<string>();
    const mayRepeat = new Set<string>();
    // Two kills, each once the worker has finished some more jobs, then a worker that finishes.
    for (const after of [50, 150]) {
      const w = startCrashWorker('pg-boss', env, everDone);
      await w.ready;
      await waitFor(`the worker to finish ${after} jobs`, () => everDone.size >= after && w.inFlight().length > 0, 60_000, 5);
      // pg-boss records a completion in a query of its own after the handler returned: a job done
      // just before the kill may run once more.
      const inFlight = await killWorker(w, 2_000);
      expect(inFlight.length).toBeGreaterThan(0);
      for (const k of inFlight) mayRepeat.add(k);
    }
    const last = startCrashWorker('pg-boss', env, everDone);
    try {
      await waitFor('every job done', () => sent.every((d) => everDone.has(d.key)), 90_000, 100);
    } finally {
      await killWorker(last);
    }
    const marks = await allMarks(tenancy, tenants);
    for (const d of sent) {
      const m = marks.get(d.key);
      expect(m?.holder, d.key).toBe(d.expect);
      expect(m?.tenantId, d.key).toBe(d.expect);
      // At least once: a job killed after its work committed but before pg-boss recorded it may run once more.
      if (!mayRepeat.has(d.key)) expect(m?.runs, d.key).toBe(1);
      else expect(m?.runs, d.key).toBeLessThanOrEqual(2);
    }
    const { rows: violations } = await h.admin.query('select * from public.violations');
    expect(violations).toEqual([]);
  }, 240_000);
});
