import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createTenancy, type Tenancy } from '@tenantry/core';
import { TENANCY } from '../dist/index.js';
import { TenancyMetrics, TenancyMetricsModule } from '../dist/metrics/index.js';
import { asyncFixture, syncFixture } from './fixtures/app.js';
import { call, MIGRATIONS, setupHarness } from './helpers.js';

const h = await setupHarness();

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (enough of the format for these tests). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parse(text), contentType: res.headers.get('content-type') };
}

const notes = (url: string, tenant: string, body: unknown) =>
  call(`${url}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenant-id': tenant },
    body: JSON.stringify(body),
  });

describe('TenancyMetricsModule', () => {
  it('serves the pool, unit-of-work, tenant and migration families, counting units of work with no tenant label', async () => {
    const registry = new Registry();
    const { app, url } = await h.boot(
      asyncFixture(
        {
          inject: [TenancyMetrics],
          useFactory: (metrics: TenancyMetrics) => ({ registryUrl: h.db.url, migrations: MIGRATIONS, onUnitOfWork: metrics.onUnitOfWork }),
        },
        [TenancyMetricsModule.forRoot({ registry, path: 'internal/metrics', tenantsCacheMs: 0 })],
      ),
    );
    const tenancy = app.get<Tenancy>(TENANCY);
    const acme = await tenancy.tenants.create({ slug: 'metrics-acme', name: 'Acme' });
    const before = await scrape(`${url}/internal/metrics`);
    expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const family of [
      'tenantry_pool_connections',
      'tenantry_pool_max_connections',
      'tenantry_pool_waiting_callers',
      'tenantry_pool_connections_opened_total',
      'tenantry_pool_evictions_total',
      'tenantry_pool_connections_destroyed_total',
      'tenantry_server_available',
      'tenantry_units_of_work_total',
      'tenantry_unit_of_work_duration_seconds',
      'tenantry_tenants',
      'tenantry_migration_tenants',
    ]) {
      expect(before.text, family).toContain(`# TYPE ${family} `);
    }
    expect(value(before.samples, 'tenantry_pool_max_connections', { server: 'default' })).toBe(10);
    expect(value(before.samples, 'tenantry_server_available', { server: 'default' })).toBe(1);
    expect(value(before.samples, 'tenantry_pool_connections_opened_total', { server: 'default' })).toBeGreaterThan(0);
    expect(value(before.samples, 'tenantry_tenants', { status: 'ACTIVE' })).toBe(1);
    expect(value(before.samples, 'tenantry_migration_tenants', { state: 'pending' })).toBe(0);
    const okBefore = value(before.samples, 'tenantry_units_of_work_total', { server: 'default', outcome: 'ok' }) ?? 0;

    expect((await notes(url, 'metrics-acme', { body: 'one' })).status).toBe(201);
    expect((await notes(url, acme.id, { body: 'two' })).status).toBe(201);
    // A null body breaks the NOT NULL constraint: a unit of work that fails.
    expect((await notes(url, 'metrics-acme', {})).status).toBe(500);

    const after = await scrape(`${url}/internal/metrics`);
    expect(value(after.samples, 'tenantry_units_of_work_total', { server: 'default', outcome: 'ok' })).toBe(okBefore + 2);
    expect(value(after.samples, 'tenantry_units_of_work_total', { server: 'default', outcome: 'error' })).toBe(1);
    expect(value(after.samples, 'tenantry_unit_of_work_duration_seconds_count', { server: 'default', outcome: 'ok' })).toBe(okBefore + 2);
    expect(value(after.samples, 'tenantry_pool_checkouts_total', { server: 'default' })).toBeGreaterThan(
      value(before.samples, 'tenantry_pool_checkouts_total', { server: 'default' })!,
    );
    // Cardinality: no label carries a tenant, whatever its name.
    expect(after.text).not.toContain(acme.id);
    expect(after.text).not.toContain('metrics-acme');
    const labelNames = new Set(after.samples.flatMap((s) => Object.keys(s.labels)));
    for (const name of labelNames) expect(['le', 'outcome', 'server', 'source', 'state', 'status']).toContain(name);

    // Per-tenant figures are kept for an admin API instead.
    const usage = app.get(TenancyMetrics).tenantUsage(5);
    expect(usage).toEqual([
      expect.objectContaining({ tenant: { id: acme.id, slug: 'metrics-acme', server: 'default' }, unitsOfWork: 3, errors: 1 }),
    ]);

    // No tenant needed, and no request scope: the route answers without one.
    expect((await call(`${url}/internal/metrics`, { headers: { 'x-tenant-id': 'nobody-here' } })).status).toBe(200);
  });

  it('takes a TenancyMetrics created beforehand, publishes migration progress, and caches tenants by status', async () => {
    const registry = new Registry();
    const metrics = new TenancyMetrics({ registry, tenantsCacheMs: 60_000 });
    const { app, url } = await h.boot({
      module: class WithMetricsModule {},
      imports: [
        syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS, onUnitOfWork: metrics.onUnitOfWork }),
        TenancyMetricsModule.forRoot({ metrics }),
      ],
    });
    const tenancy = app.get<Tenancy>(TENANCY);
    const active = value((await scrape(`${url}/metrics`)).samples, 'tenantry_tenants', { status: 'ACTIVE' })!;
    await tenancy.tenants.create({ slug: 'metrics-cached', name: 'Cached' });
    // Within the cache's lifetime the registry is not asked again.
    expect(value((await scrape(`${url}/metrics`)).samples, 'tenantry_tenants', { status: 'ACTIVE' })).toBe(active);

    const run = await tenancy.migrate({ onProgress: metrics.onMigrationProgress });
    const afterRun = (await scrape(`${url}/metrics`)).samples;
    expect(value(afterRun, 'tenantry_migration_run_planned_tenants')).toBe(run.results.length);
    expect(value(afterRun, 'tenantry_migration_run_done_tenants')).toBe(run.results.length);
    expect(value(afterRun, 'tenantry_migration_tenant_results_total', { status: 'up-to-date' })).toBe(run.results.length);
    // A migration run expires the cached registry reads.
    expect(value(afterRun, 'tenantry_tenants', { status: 'ACTIVE' })).toBe(active + 1);
    await tenancy.withTenant('metrics-cached', (db) => db.query('select 1'));
    expect(value((await scrape(`${url}/metrics`)).samples, 'tenantry_units_of_work_total', { server: 'default', outcome: 'ok' })).toBe(1);
    // The module leaves an instance it was given registered.
    await app.close();
    expect(registry.getSingleMetric('tenantry_units_of_work_total')).toBeDefined();
  });

  it('keeps the last values and counts a collect error when the registry cannot be read', async () => {
    const registry = new Registry();
    const metrics = new TenancyMetrics({ registry, tenantsCacheMs: 0, migrationsCacheMs: 0 });
    const tenancy: Tenancy = await createTenancy({ registryUrl: h.db.url, migrations: MIGRATIONS, listen: false, reconcileOnStart: false });
    metrics.attach(tenancy);
    await tenancy.tenants.create({ slug: 'metrics-collect', name: 'Collect' });
    const good = parse(await metrics.metrics());
    const active = value(good, 'tenantry_tenants', { status: 'ACTIVE' });
    // The gauge is the registry's count (one tenant at least, the one just created).
    expect(active).toBe((await tenancy.tenants.countByStatus()).ACTIVE);
    expect(active).toBeGreaterThanOrEqual(1);
    await tenancy.close();
    const bad = parse(await metrics.metrics());
    expect(value(bad, 'tenantry_tenants', { status: 'ACTIVE' })).toBe(active);
    expect(value(bad, 'tenantry_metrics_collect_errors_total', { source: 'tenants' })).toBe(1);
    expect(value(bad, 'tenantry_metrics_collect_errors_total', { source: 'migrations' })).toBe(1);
  });

  it('unregisters the metrics it created when the application closes, so the registry can be reused', async () => {
    const registry = new Registry();
    const boot = () =>
      h.boot(
        asyncFixture(
          {
            inject: [TenancyMetrics],
            useFactory: (m: TenancyMetrics) => ({ registryUrl: h.db.url, migrations: MIGRATIONS, onUnitOfWork: m.onUnitOfWork }),
          },
          [TenancyMetricsModule.forRoot({ registry })],
        ),
      );
    const first = await boot();
    expect(registry.getSingleMetric('tenantry_units_of_work_total')).toBeDefined();
    await first.app.close();
    expect(registry.getMetricsAsArray()).toEqual([]);
    const second = await boot();
    expect((await scrape(`${second.url}/metrics`)).text).toContain('# TYPE tenantry_units_of_work_total counter');
  });
});
