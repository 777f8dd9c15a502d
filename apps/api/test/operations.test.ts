import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenancy, type Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { startEmbeddedServer, TEST_SERVER_FLAGS } from '@tenantry/testing';
import { ADMIN_TOKEN, http, logCapture, parseMetrics, sample, setupApi, tenantWithToken, type Reply } from './helpers.js';

const h = await setupApi();
const logs = logCapture();
const api = await h.start(
  { LOG_LEVEL: 'info', TENANTRY_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
  { logDestination: logs.destination },
);
const u = api.url;
const { tenant, token } = await tenantWithToken(u, 'Ops Tenant', 'ops-tenant');
// A second PostgreSQL server, stopped by the readiness test to see it reported.
const second = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
afterAll(() => second.stop());

async function metrics(): Promise<{ text: string; samples: ReturnType<typeof parseMetrics> }> {
  const res = await fetch(`${u}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseMetrics(text) };
}

describe('GET /health (liveness)', () => {
  it('answers 200 with no tenant and no token', async () => {
    const res = await http(u, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) });
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus families, and counts the units of work of tenant requests', async () => {
    const before = await metrics();
    for (const family of [
      'tenantry_pool_connections',
      'tenantry_pool_waiting_callers',
      'tenantry_pool_connections_opened_total',
      'tenantry_pool_evictions_total',
      'tenantry_pool_connections_destroyed_total',
      'tenantry_units_of_work_total',
      'tenantry_unit_of_work_duration_seconds',
      'tenantry_tenants',
      'tenantry_migration_tenants',
      'http_request_duration_seconds',
      'process_cpu_user_seconds_total',
    ]) {
      expect(before.text, family).toContain(`# TYPE ${family} `);
    }
    // The pool holds the connections the tenant's creation opened, within its budget.
    const held = ['idle', 'in_use'].map((state) => sample(before.samples, 'tenantry_pool_connections', { server: 'default', state })!);
    expect(held[0]! + held[1]!).toBeGreaterThan(0);
    expect(held[0]! + held[1]!).toBeLessThanOrEqual(sample(before.samples, 'tenantry_pool_max_connections', { server: 'default' })!);
    expect(sample(before.samples, 'tenantry_tenants', { status: 'ACTIVE' })).toBeGreaterThanOrEqual(1);
    expect(sample(before.samples, 'tenantry_migration_tenants', { state: 'pending' })).toBe(0);
    const ok = (s: ReturnType<typeof parseMetrics>) => sample(s, 'tenantry_units_of_work_total', { server: 'default', outcome: 'ok' }) ?? 0;

    expect((await http(u, 'POST', '/posts', { tenant: 'ops-tenant', token, body: { title: 'Hello', content: 'metrics' } })).status).toBe(
      201,
    );
    expect((await http(u, 'GET', '/posts', { tenant: 'ops-tenant', token })).status).toBe(200);
    expect((await http(u, 'GET', `/t/ops-tenant/posts`, { token })).status).toBe(200);

    const after = await metrics();
    expect(ok(after.samples)).toBe(ok(before.samples) + 3);
    expect(sample(after.samples, 'http_request_duration_seconds_count', { method: 'GET', route: '/posts', status: '200' })).toBe(2);
    // No tenant in any label: not its id, not its slug (the /t/ops-tenant path is not a label either).
    expect(after.text).not.toContain(tenant.id);
    expect(after.text).not.toContain('ops-tenant');
  });
});

describe('GET /admin/stats', () => {
  it('needs the admin token', async () => {
    expect((await http(u, 'GET', '/admin/stats')).status).toBe(401);
    expect((await http(u, 'GET', '/admin/stats', { token })).status).toBe(401);
  });

  it('returns pools per server, tenants by status, migrations and the busiest tenants', async () => {
    await http(u, 'GET', '/posts', { tenant: 'ops-tenant', token });
    const res = await http(u, 'GET', '/admin/stats?top=3', { token: ADMIN_TOKEN });
    expect(res.status).toBe(200);
    const def = res.body.servers.find((s: { id: string }) => s.id === 'default');
    expect(def).toMatchObject({ draining: false, tenants: expect.any(Number), replica: null });
    expect(def.pool).toMatchObject({ max: 10, available: true, waiting: 0, evictions: 0 });
    expect(def.pool.opened).toBeGreaterThan(0);
    expect(def.pool.checkouts).toBeGreaterThan(0);
    expect(def.pool.inUse + def.pool.idle).toBe(def.pool.total);
    expect(res.body.connections).toMatchObject({ max: 10, waiting: 0 });
    expect(res.body.cache).toEqual({ size: expect.any(Number), listening: true });
    expect(res.body.tenants.byStatus.ACTIVE).toBeGreaterThanOrEqual(1);
    expect(res.body.tenants.live).toBeGreaterThanOrEqual(res.body.tenants.byStatus.ACTIVE);
    expect(res.body.migrations).toEqual({ latest: '0002_create_users', pending: 0, migrating: 0, failed: 0 });
    expect(res.body.busiestTenants[0]).toMatchObject({ tenant: { id: tenant.id, slug: 'ops-tenant', server: 'default' }, errors: 0 });
    expect(res.body.busiestTenants[0].unitsOfWork).toBeGreaterThanOrEqual(4);
    expect((await http(u, 'GET', '/admin/stats?top=1000', { token: ADMIN_TOKEN })).status).toBe(400);
  });
});

describe('request logs', () => {
  it('writes one line per request with its id, tenant, route, status and duration, echoing the id', async () => {
    const res = await http(u, 'GET', '/posts', { tenant: 'ops-tenant', token, headers: { 'x-request-id': 'trace-42.a:b_c' } });
    expect(res.headers.get('x-request-id')).toBe('trace-42.a:b_c');
    await sleep(20);
    const line = logs.lines.find((l) => l['msg'] === 'request' && l['reqId'] === 'trace-42.a:b_c');
    expect(line).toMatchObject({
      level: 30,
      service: 'tenantry-api',
      tenant: tenant.id,
      tenantSlug: 'ops-tenant',
      method: 'GET',
      route: '/posts',
      path: '/posts',
      status: 200,
    });
    expect(line!['durationMs']).toEqual(expect.any(Number));
  });

  it('replaces an unsafe request id with a generated one', async () => {
    const res = await http(u, 'GET', '/health', { headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    const odd = await http(u, 'GET', '/health', { headers: { 'x-request-id': '{"level":60}' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('logs a request no route matched with route null, and counts it under one label', async () => {
    const res = await http(u, 'GET', '/no/such/route', { headers: { 'x-request-id': 'lost-1' } });
    expect(res.status).toBe(404);
    await sleep(20);
    expect(logs.lines.find((l) => l['reqId'] === 'lost-1' && l['msg'] === 'request')).toMatchObject({
      route: null,
      path: '/no/such/route',
      status: 404,
    });
    const text = (await metrics()).text;
    expect(
      sample(parseMetrics(text), 'http_request_duration_seconds_count', { method: 'GET', route: '(unmatched)', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('/no/such/route');
  });

  it("carries the request id into Tenantry's provisioning lines, and never logs tokens or bodies", async () => {
    const created = await http(u, 'POST', '/tenants', {
      token: ADMIN_TOKEN,
      body: { name: 'Logged Tenant', slug: 'logged-tenant' },
      headers: { 'x-request-id': 'create-1' },
    });
    expect(created.status).toBe(201);
    await http(u, 'POST', '/posts', { tenant: 'ops-tenant', token, body: { title: 'secret-title-xyz', content: 'secret-body-xyz' } });
    await sleep(20);
    const provisioning = logs.lines.filter((l) => l['reqId'] === 'create-1' && l['tenant'] === created.body.id).map((l) => l['msg']);
    expect(provisioning).toEqual(expect.arrayContaining(['provisioning tenant', 'tenant provisioned']));
    const all = logs.raw.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain('secret-body-xyz');
    expect(all).not.toContain('secret-title-xyz');
  });
});

describe('GET /ready (readiness)', () => {
  async function ready(until?: (r: Reply) => boolean): Promise<Reply> {
    // Answers are cached for a second: poll until the expected one comes.
    for (let i = 0; ; i++) {
      const res = await http(u, 'GET', '/ready');
      if (until === undefined || until(res) || i === 40) return res;
      await sleep(100);
    }
  }

  it('answers 200 when the registry and every server in use answer', async () => {
    const res = await ready();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      checks: {
        registry: { status: 'ok', latencyMs: expect.any(Number) },
        servers: { default: { status: 'ok', latencyMs: expect.any(Number) } },
      },
    });
  });

  it('stays 200 when only a server no live tenant uses is down (here: added with a key this process lacks)', async () => {
    // Another process, with another encryption key, registers a server on the same registry.
    const other = await createTenancy({ registryUrl: h.db.url, encryptionKey: randomBytes(32).toString('hex'), listen: false });
    try {
      await other.servers.add({ id: 'foreign', url: second.url });
      const res = await ready((r) => r.body.checks.servers.foreign !== undefined);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.checks.servers.foreign).toEqual({ status: 'down', error: 'ENCRYPTION_KEY_MISMATCH', unused: true });
      await other.servers.remove('foreign');
      expect((await ready((r) => r.body.checks.servers.foreign === undefined)).body.checks.servers.foreign).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('answers 503 degraded, naming the server, when a server in use goes down', async () => {
    const tenancy = api.api.app.get<Tenancy>(TENANCY);
    await tenancy.servers.add({ id: 'second', url: second.url });
    // No tenant of it used yet: its pool is opened and asked all the same.
    expect((await ready((r) => r.body.checks.servers.second !== undefined)).body.checks.servers.second).toEqual({
      status: 'ok',
      latencyMs: expect.any(Number),
    });
    await tenancy.tenants.create({ slug: 'on-second', name: 'On Second', server: 'second' });
    const up = await ready((r) => r.body.checks.servers.second?.status === 'ok');
    expect(up.status).toBe(200);
    expect(up.body.checks.servers.second).toEqual({ status: 'ok', latencyMs: expect.any(Number) });

    await second.stop();
    const down = await ready((r) => r.status === 503);
    expect(down.status).toBe(503);
    expect(down.body).toEqual({
      status: 'degraded',
      checks: {
        registry: { status: 'ok', latencyMs: expect.any(Number) },
        servers: { default: { status: 'ok', latencyMs: expect.any(Number) }, second: { status: 'down', error: 'SERVER_UNAVAILABLE' } },
      },
    });
    // Liveness does not care.
    expect((await http(u, 'GET', '/health')).status).toBe(200);
    const m = parseMetrics((await metrics()).text);
    expect(sample(m, 'tenantry_server_available', { server: 'second' })).toBe(0);
    expect(logs.lines.some((l) => l['msg'] === 'readiness check failing' && l['check'] === 'server second')).toBe(true);
  });
});
