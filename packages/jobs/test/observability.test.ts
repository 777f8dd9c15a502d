import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { JobStats, persistJobStats } from '../dist/index.js';
import { PgBossJobs } from '../dist/pg-boss.js';
import { pgBossDepths, registerJobMetrics } from '../dist/prometheus.js';
import { createTenants, setupHarness, waitFor } from './helpers.js';

const h = await setupHarness();
const BOSS = { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 } as const;

describe('@tenantry/jobs observability', () => {
  it('persists per-tenant counts by outcome, adding up several processes, and renders queue metrics without tenant labels', async () => {
    const tenancy = await h.tenancy();
    const [a, b] = await createTenants(tenancy, 'obs', 2);
    const jobs = await PgBossJobs.start(tenancy, { connectionString: h.db.url, boss: BOSS });
    const store = await persistJobStats(tenancy, jobs.stats, { flushMs: 0 });
    // A second process: its own counters, its own store, the same table.
    const otherStats = new JobStats();
    const other = await persistJobStats(tenancy, otherStats, { flushMs: 0 });
    try {
      await jobs.createQueue('obs', { retryLimit: 1, retryDelay: 0 });
      await jobs.createQueue('idle');
      const failedOnce = new Set<string>();
      await jobs.work<{ n: number; failFirst?: boolean }>(
        'obs',
        async ({ id, data }) => {
          if (data.failFirst && !failedOnce.has(id)) {
            failedOnce.add(id);
            throw new Error('first attempt fails');
          }
        },
        { pollingIntervalSeconds: 0.5 },
      );
      for (let n = 0; n < 3; n++) await tenancy.run(a!.id, () => jobs.send('obs', { n }));
      for (let n = 0; n < 2; n++) await tenancy.run(b!.id, () => jobs.send('obs', { n, failFirst: true }));
      await tenancy.run(a!.id, () => jobs.send('idle', { n: 0 }));
      await waitFor('five completed runs', () => jobs.stats.byQueue().get('obs')?.completed === 5);
      otherStats.record('obs', b!.id, 'failed');
      await store.flush();
      await other.flush();
      await store.flush(); // nothing new: must not add twice
      expect(await store.forTenant(a!.id)).toEqual({ completed: 3, retried: 0, failed: 0, deferred: 0, discarded: 0, rejected: 0 });
      expect(await other.forTenant(b!.id)).toEqual({ completed: 2, retried: 2, failed: 1, deferred: 0, discarded: 0, rejected: 0 });
      expect((await store.forTenantByQueue(b!.id)).map((r) => [r.queue, r.completed])).toEqual([['obs', 2]]);

      const registry = new Registry();
      registerJobMetrics(registry, { stats: jobs.stats, depths: pgBossDepths(jobs.boss, ['obs', 'idle']) });
      const text = await registry.metrics();
      expect(text).toContain('tenantry_jobs_runs_total{queue="obs",outcome="completed"} 5');
      expect(text).toContain('tenantry_jobs_runs_total{queue="obs",outcome="retried"} 2');
      expect(text).toContain('tenantry_jobs_handler_runs_total{queue="obs"} 7');
      expect(text).toMatch(/tenantry_jobs_queue_jobs\{queue="idle",state="queued"\} 1/);
      expect(text).not.toContain(a!.id);
      expect(text).not.toContain(b!.id);
      expect(text).not.toMatch(/tenant=/);
    } finally {
      await store.stop();
      await other.stop();
      await jobs.stop();
    }
  });
});
