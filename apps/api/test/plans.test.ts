import { describe, expect, it } from 'vitest';
import type { Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { configFromEnv } from '../dist/config.js';
import { TenantRateLimiter } from '../dist/auth/rate-limit.guard.js';
import { ADMIN_TOKEN, http, parseMetrics, sample, setupApi } from './helpers.js';

const h = await setupApi();
const api = await h.start({
  TENANTRY_PLANS: JSON.stringify({ TINY: { requestsPerSecond: 2, maxConnectionShare: 1 }, default: { statementTimeoutMs: 30_000 } }),
});
const u = api.url;
const tenancy = api.api.app.get<symbol, Tenancy>(TENANCY);

async function tenantOnPlan(slug: string, plan?: string): Promise<{ id: string; token: string }> {
  const created = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: slug, slug, ...(plan ? { plan } : {}) } });
  expect(created.status).toBe(201);
  const issued = await http(u, 'POST', `/tenants/${created.body.id}/tokens`, { token: ADMIN_TOKEN, body: {} });
  return { id: created.body.id, token: issued.body.token };
}

describe("a tenant's plan request rate", () => {
  it('answers 429 TOO_MANY_REQUESTS with Retry-After beyond it, while another tenant is served; a plan change applies at once', async () => {
    const tiny = await tenantOnPlan('rate-tiny', 'TINY');
    const other = await tenantOnPlan('rate-other');
    // Ten at once: a bucket of 2 a second lets two or three through.
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => http(u, 'GET', '/posts', { tenant: 'rate-tiny', token: tiny.token })),
    );
    const refused = replies.filter((r) => r.status === 429);
    expect(replies.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused[0]!.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_REQUESTS', message: expect.stringContaining("plan 'TINY'") });
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Another tenant (the default plan, no rate) is not limited by the first one's bucket.
    for (let i = 0; i < 10; i++) expect((await http(u, 'GET', '/posts', { tenant: 'rate-other', token: other.token })).status).toBe(200);

    // Off the limited plan: the next request goes, without waiting for the bucket.
    await tenancy.tenants.update(tiny.id, { plan: 'default' });
    const after = await Promise.all(Array.from({ length: 10 }, () => http(u, 'GET', '/posts', { tenant: 'rate-tiny', token: tiny.token })));
    expect(after.map((r) => r.status)).toEqual(Array(10).fill(200));

    // Refusals are counted by plan, never by tenant.
    const text = await (await fetch(`${u}/metrics`)).text();
    const samples = parseMetrics(text);
    expect(sample(samples, 'tenantry_rate_limited_requests_total', { plan: 'TINY' })).toBe(refused.length);
    expect(
      samples
        .filter((s) => s.name.startsWith('tenantry_plan_') || s.name.startsWith('tenantry_rate_limited'))
        .every((s) => !('tenant' in s.labels)),
    ).toBe(true);
    expect(text).toContain('# TYPE tenantry_plan_connections_in_use gauge');
  });

  it('admin routes are not limited by a tenant’s plan', async () => {
    await tenantOnPlan('rate-admin', 'TINY');
    const replies = await Promise.all(Array.from({ length: 6 }, () => http(u, 'GET', '/tenants/rate-admin', { token: ADMIN_TOKEN })));
    expect(replies.map((r) => r.status)).toEqual(Array(6).fill(200));
  });
});

describe('GET /admin/stats', () => {
  it('lists the plans and, per server, the tenants holding connections against their share', async () => {
    const t = await tenantOnPlan('stats-held', 'TINY');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const work = tenancy.withTenant(t.id, async () => {
      inside();
      await held;
    });
    await entered;
    const res = await http(u, 'GET', '/admin/stats', { token: ADMIN_TOKEN });
    release();
    await work;
    expect(res.status).toBe(200);
    expect(res.body.plans).toEqual(
      expect.arrayContaining([
        { name: 'TINY', requestsPerSecond: 2, maxConnectionShare: 1 },
        { name: 'default', statementTimeoutMs: 30_000 },
      ]),
    );
    const pool = res.body.servers.find((s: { id: string }) => s.id === 'default').pool;
    expect(pool.tenants).toContainEqual({ tenant: t.id, plan: 'TINY', inUse: 1, share: 1, waiting: 0 });
  });
});

describe('TENANTRY_PLANS', () => {
  it('is checked at start: bad JSON or a bad limit is a ConfigError naming it', () => {
    expect(() => configFromEnv({ TENANTRY_PLANS: '{nope' })).toThrow(/TENANTRY_PLANS must be JSON/);
    expect(() => configFromEnv({ TENANTRY_PLANS: '{"A":{"requestsPerSecond":-1}}' })).toThrow(
      /TENANTRY_PLANS: plans.A.requestsPerSecond must be a number > 0/,
    );
    expect(configFromEnv({}).plans).toHaveProperty('STARTER.requestsPerSecond');
  });
});

describe('TenantRateLimiter', () => {
  it('lets a burst of one second through, then one request per 1/rate seconds, per tenant', () => {
    let now = 0;
    const limiter = new TenantRateLimiter(() => now);
    expect([1, 2, 3].map(() => limiter.take('a', 2))).toEqual([0, 0, 1]);
    expect(limiter.take('b', 2)).toBe(0);
    now = 499;
    expect(limiter.take('a', 2)).toBe(1);
    // A second after it emptied, the bucket is full again: a burst of two, not more.
    now = 1_000;
    expect([1, 2, 3].map(() => limiter.take('a', 2))).toEqual([0, 0, 1]);
  });
});

describe('TENANTRY_POOL_IDLE_MS', () => {
  it('is checked at start and defaults to 30 s', () => {
    expect(configFromEnv({}).poolIdleMs).toBe(30_000);
    expect(configFromEnv({ TENANTRY_POOL_IDLE_MS: '3600000' }).poolIdleMs).toBe(3_600_000);
    expect(() => configFromEnv({ TENANTRY_POOL_IDLE_MS: '10' })).toThrow(/TENANTRY_POOL_IDLE_MS/);
    expect(() => configFromEnv({ TENANTRY_POOL_IDLE_MS: 'soon' })).toThrow(/TENANTRY_POOL_IDLE_MS/);
  });

  it("closes the tenancy's idle connections after it", async () => {
    const short = await h.start({ TENANTRY_POOL_IDLE_MS: '1000' });
    const created = await http(short.url, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: 'idle', slug: 'idle-pool' } });
    expect(created.status).toBe(201);
    const shortTenancy = short.api.app.get<symbol, Tenancy>(TENANCY);
    const open = (): number => shortTenancy.stats().servers.reduce((n, s) => n + s.total, 0);
    expect(open()).toBeGreaterThan(0);
    await expect.poll(open, { timeout: 5_000, interval: 100 }).toBe(0);
  });
});

describe('TENANTRY_POOL_SHARE_HEADROOM', () => {
  it('defaults to one connection kept free (none with a pool of one) and must stay below the pool', () => {
    expect(configFromEnv({}).poolShareHeadroom).toBe(1);
    expect(configFromEnv({ TENANTRY_POOL_MAX: '1' }).poolShareHeadroom).toBe(0);
    expect(configFromEnv({ TENANTRY_POOL_SHARE_HEADROOM: '0' }).poolShareHeadroom).toBe(0);
    expect(() => configFromEnv({ TENANTRY_POOL_MAX: '4', TENANTRY_POOL_SHARE_HEADROOM: '4' })).toThrow(
      /TENANTRY_POOL_SHARE_HEADROOM must be an integer from 0 to 3/,
    );
  });

  it('reaches the pool: a tenant over its share leaves a connection free for another', async () => {
    const small = await h.start({
      TENANTRY_POOL_MAX: '3',
      // No pending-tenant refills taking connections of the 3 in the background.
      TENANTRY_PENDING_SCHEMA_TENANTS: '0',
      TENANTRY_PLANS: JSON.stringify({ default: { maxConnectionShare: 1 } }),
    });
    const t = small.api.app.get<symbol, Tenancy>(TENANCY);
    const a = await t.tenants.create({ slug: 'headroom-api-a', name: 'A' });
    const b = await t.tenants.create({ slug: 'headroom-api-b', name: 'B' });
    await t.withTenant(a.id, (db) => db.query('select 1'));
    await t.withTenant(b.id, (db) => db.query('select 1'));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside = 0;
    // Four units of work of A, each held: over its share of 1, A gets 2 of the 3 connections.
    const flood = Array.from({ length: 4 }, () =>
      t.withTenant(a.id, async (db) => {
        inside++;
        await db.query('select 1');
        await held;
      }),
    );
    await expect.poll(() => inside, { timeout: 5_000 }).toBe(2);
    // B is served at once on the connection kept free.
    expect((await t.withTenant(b.id, (db) => db.query<{ n: number }>('select 2 as n'))).rows[0]!.n).toBe(2);
    expect(inside).toBe(2);
    release();
    await Promise.all(flood);
  });
});
