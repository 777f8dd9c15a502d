import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createTenancy, type Tenancy } from '@tenantry/core';
import { TenancyMetrics } from '../dist/metrics/index.js';
import { MIGRATIONS, setupHarness } from './helpers.js';

const h = await setupHarness();

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

describe('TenancyMetrics: mobility', () => {
  it('counts backups, restores, clones and moves by outcome, with no tenant label', async () => {
    const registry = new Registry();
    const metrics = new TenancyMetrics({ registry });
    const tenancy: Tenancy = await createTenancy({ registryUrl: h.db.url, migrations: MIGRATIONS, listen: false, reconcileOnStart: false });
    try {
      metrics.attach(tenancy);
      await tenancy.tenants.create({ slug: 'metrics-mobile', name: 'Mobile' });
      await tenancy.mobility.backup('metrics-mobile', sink());
      await tenancy.mobility.backup('metrics-mobile', sink());
      await expect(tenancy.mobility.backup('no-such-tenant', sink())).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      await tenancy.mobility.clone('metrics-mobile', { slug: 'metrics-clone' });
      await tenancy.mobility.move('metrics-mobile', { isolation: 'database', retainHours: 0 });
      await expect(tenancy.mobility.move('metrics-mobile', { isolation: 'database' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

      const at = async (operation: string, outcome: string): Promise<number | undefined> =>
        (await registry.getSingleMetric(`tenantry_mobility_${operation}s_total`)!.get()).values.find((v) => v.labels['outcome'] === outcome)
          ?.value;
      expect(await at('backup', 'ok')).toBe(2);
      expect(await at('backup', 'failed')).toBe(1);
      expect(await at('clone', 'ok')).toBe(1);
      expect(await at('move', 'ok')).toBe(1);
      expect(await at('move', 'failed')).toBe(1);
      expect(await at('restore', 'ok')).toBe(0);
      const text = await metrics.metrics();
      expect(text).toMatch(/^tenantry_mobility_moves_total\{outcome="ok"\} 1$/m);
      expect(text).not.toContain('metrics-mobile');
      const labels = [...text.matchAll(/^tenantry_mobility_\w+\{(\w+)=/gm)].map((m) => m[1]);
      expect(new Set(labels)).toEqual(new Set(['outcome']));
    } finally {
      metrics.detach(tenancy);
      await tenancy.close();
    }
  });
});
