import { describe, expect, it } from 'vitest';
import { currentTenant } from '@tenantry/core';
import { TenantSchedules, type FanOutResult } from '../dist/index.js';
import { createTenants, setupHarness, waitFor } from './helpers.js';

const h = await setupHarness();
// The figure is 300 tenants; scaled so the file stays well under a minute on 2 cores.
const TENANTS = 60;

describe('per-tenant schedules', () => {
  it('a fan-out runs in every ACTIVE tenant, bounded, skips suspended ones, and reports one deleted mid-run as skipped', async () => {
    const tenancy = await h.tenancy();
    const tenants = await createTenants(tenancy, 'sched', TENANTS, 4);
    const suspended = [tenants[3]!, tenants[20]!, tenants[41]!];
    for (const t of suspended) await tenancy.tenants.suspend(t.id);
    const doomed = tenants[TENANTS - 1]!; // last in the list: deleted while the first ones run
    const schedules = await TenantSchedules.start(tenancy);
    let inFlight = 0;
    let maxInFlight = 0;
    const ranIn: string[] = [];
    try {
      await schedules.add({
        name: 'count',
        intervalMs: 3_600_000,
        concurrency: 3,
        jitterMs: 20,
        run: async (tenant) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            if (tenant.id === tenants[0]!.id) await tenancy.tenants.delete(doomed.id);
            expect(currentTenant()?.id).toBe(tenant.id);
            const self = await tenancy.withTenant(async (db) => (await db.query<{ id: string }>('select id from tenant_self')).rows);
            if (tenant.id === tenants[1]!.id) throw new Error('this tenant fails');
            ranIn.push(self[0]!.id);
            return self[0]!.id;
          } finally {
            inFlight--;
          }
        },
      });
      const fan = await schedules.runNow<string>('count');
      const byId = new Map(fan.results.map((r) => [r.tenant.id, r]));
      for (const t of suspended) expect(byId.has(t.id)).toBe(false);
      expect(byId.get(doomed.id)?.status).toBe('skipped');
      expect(byId.get(tenants[1]!.id)).toMatchObject({ status: 'failed', error: { message: 'this tenant fails' } });
      const ok = fan.results.filter((r) => r.status === 'ok');
      expect(ok.length).toBe(TENANTS - suspended.length - 2);
      for (const r of ok) expect(r.value).toBe(r.tenant.id);
      expect(new Set(ranIn).size).toBe(ranIn.length);
      expect(maxInFlight).toBeLessThanOrEqual(3);
      expect(maxInFlight).toBeGreaterThan(1);
      const persisted = await schedules.lastRuns('count');
      expect(persisted.length).toBe(fan.results.length);
      expect(persisted.find((p) => p.tenantId === tenants[1]!.id)).toMatchObject({ status: 'failed', error: 'this tenant fails' });
    } finally {
      await schedules.stop();
    }
  });

  it('catches up once after downtime, not once per missed slot, and not at all when another process ran the slot', async () => {
    const tenancy = await h.tenancy();
    const mine = new Set((await createTenants(tenancy, 'catch', 3)).map((t) => t.id));
    const first = await TenantSchedules.start(tenancy);
    const fanOuts: FanOutResult<void>[] = [];
    await first.add({ name: 'tick', intervalMs: 1000, run: async () => undefined, onFanOut: (f) => fanOuts.push(f) });
    await first.stop();
    expect(fanOuts).toEqual([]); // never ran: no slot was missed
    // "Downtime": the last fan-out was ten slots (of the 60 s the schedule now has) ago.
    await h.admin.query("update tenantry_jobs.schedules set last_fanout_at = now() - interval '10 minutes' where name = 'tick'");
    const second = await TenantSchedules.start(tenancy);
    const third = await TenantSchedules.start(tenancy); // another process starting at the same time
    try {
      await second.add({ name: 'tick', intervalMs: 60_000, run: async () => undefined, onFanOut: (f) => fanOuts.push(f) });
      await third.add({ name: 'tick', intervalMs: 60_000, run: async () => undefined, onFanOut: (f) => fanOuts.push(f) });
      await waitFor('the catch-up', () => fanOuts.length >= 1);
      await new Promise((r) => setTimeout(r, 500));
      // The file's other test left its own ACTIVE tenants in this database: count this test's.
      expect(fanOuts.map((f) => [f.reason, f.results.filter((r) => mine.has(r.tenant.id)).length])).toEqual([['catch-up', 3]]);
      // Slots: due once an interval has passed, claimed by one process only.
      expect(await second.tick('tick')).toBeUndefined();
      await h.admin.query("update tenantry_jobs.schedules set last_fanout_at = now() - interval '61 seconds' where name = 'tick'");
      const [a, b] = await Promise.all([second.tick('tick'), third.tick('tick')]);
      expect([a, b].filter((x) => x !== undefined).length).toBe(1);
    } finally {
      await second.stop();
      await third.stop();
    }
  });
});
