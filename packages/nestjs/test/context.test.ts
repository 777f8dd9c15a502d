import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenancy, Tenant } from '@tenantry/core';
import { TENANCY } from '../dist/index.js';
import { syncFixture } from './fixtures/app.js';
import { call, MIGRATIONS, setupHarness, type Booted } from './helpers.js';

const h = await setupHarness();
let booted: Booted;
/** The same app with `contextInterceptor: false`, over the same registry. */
let lean: Booted;
const tenants: Tenant[] = [];

beforeAll(async () => {
  booted = await h.boot(syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS, pool: { max: 5 } }));
  const tenancy = booted.app.get<Tenancy>(TENANCY);
  for (let i = 0; i < 10; i++) tenants.push(await tenancy.tenants.create({ slug: `ctx-${i}`, name: `Context ${i}` }));
  lean = await h.boot(syncFixture({ tenancy, contextInterceptor: false }));
});

describe('AsyncLocalStorage tenant context', () => {
  it('holds for the whole request: guards, every async hop of the handler, queries, interceptors', async () => {
    const res = await call(`${booted.url}/whoami`, { headers: { 'x-tenant-id': 'ctx-3' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: tenants[3]!.id,
      slug: 'ctx-3',
      schema: tenants[3]!.physicalName,
      expectedSchema: tenants[3]!.physicalName,
      seen: { start: 'ctx-3', afterTimeout: 'ctx-3', afterImmediate: 'ctx-3', inCallback: 'ctx-3', afterQuery: 'ctx-3' },
      probe: { guard: 'ctx-3', afterHandler: 'ctx-3' },
    });
  });

  it('never mixes tenants under 100 concurrent requests', async () => {
    const picks = Array.from({ length: 100 }, (_, i) => tenants[(i * 7) % tenants.length]!);
    const replies = await Promise.all(picks.map((t) => call(`${booted.url}/whoami`, { headers: { 'x-tenant-id': t.slug } })));
    replies.forEach((res, i) => {
      const t = picks[i]!;
      expect(res.status).toBe(200);
      expect(res.body.slug).toBe(t.slug);
      expect(res.body.schema).toBe(t.physicalName);
      expect(Object.values(res.body.seen)).toEqual(Array(5).fill(t.slug));
      expect(res.body.probe).toEqual({ guard: t.slug, afterHandler: t.slug });
    });
  });

  it('is re-entered for the handler when a middleware after TenancyMiddleware dropped it', async () => {
    const res = await call(`${booted.url}/dropped`, { headers: { 'x-tenant-id': 'ctx-1' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ context: 'ctx-1' });
  });

  it('is entered on @SkipTenancy routes when a tenant was given, and absent otherwise', async () => {
    expect((await call(`${booted.url}/public`, { headers: { 'x-tenant-id': 'ctx-2' } })).body).toMatchObject({
      tenant: 'ctx-2',
      context: 'ctx-2',
    });
    expect((await call(`${booted.url}/public`)).body).toMatchObject({ tenant: null, context: null });
    // A bad tenant does not break a route that needs none.
    const bad = await call(`${booted.url}/public`, { headers: { 'x-tenant-id': 'no-such-tenant' } });
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ tenant: null, context: null });
  });

  it('follows a suspension made between two requests', async () => {
    const tenancy = booted.app.get<Tenancy>(TENANCY);
    await tenancy.tenants.suspend('ctx-9');
    const res = await call(`${booted.url}/whoami`, { headers: { 'x-tenant-id': 'ctx-9' } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ statusCode: 403, code: 'TENANT_SUSPENDED', message: "tenant 'ctx-9' is suspended" });
    await tenancy.tenants.resume('ctx-9');
    expect((await call(`${booted.url}/whoami`, { headers: { 'x-tenant-id': 'ctx-9' } })).status).toBe(200);
  });
});

describe('contextInterceptor: false', () => {
  it('still holds the context for the whole request, interceptors and queries included', async () => {
    const res = await call(`${lean.url}/whoami`, { headers: { 'x-tenant-id': 'ctx-4' } });
    expect(res.status).toBe(200);
    expect(res.body.seen).toEqual({
      start: 'ctx-4',
      afterTimeout: 'ctx-4',
      afterImmediate: 'ctx-4',
      inCallback: 'ctx-4',
      afterQuery: 'ctx-4',
    });
    expect(res.body.probe).toEqual({ guard: 'ctx-4', afterHandler: 'ctx-4' });
    expect(res.body.schema).toBe(tenants[4]!.physicalName);
  });

  it('refuses with a 500 a request whose context a later middleware dropped: the handler never runs without its tenant', async () => {
    const res = await call(`${lean.url}/dropped`, { headers: { 'x-tenant-id': 'ctx-1' } });
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ statusCode: 500, code: 'INTERNAL' });
    // No tenant given: nothing to lose, the route's own answer (TENANT_REQUIRED) as before.
    expect((await call(`${lean.url}/dropped`)).status).toBe(400);
  });

  it('keeps @SkipTenancy routes and their optional tenant', async () => {
    expect((await call(`${lean.url}/public`, { headers: { 'x-tenant-id': 'ctx-2' } })).body).toMatchObject({
      tenant: 'ctx-2',
      context: 'ctx-2',
    });
    expect((await call(`${lean.url}/public`)).body).toMatchObject({ tenant: null, context: null });
  });
});
