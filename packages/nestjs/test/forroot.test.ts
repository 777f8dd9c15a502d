import { describe, expect, it } from 'vitest';
import { createTenancy, isTenantryError, type Tenancy } from '@tenantry/core';
import { TENANCY } from '../dist/index.js';
import { syncFixture } from './fixtures/app.js';
import { call, MIGRATIONS, setupHarness } from './helpers.js';

const h = await setupHarness();

describe('TenancyModule.forRoot (sync options)', () => {
  it('boots, creates the tenancy from core options and routes each request to its tenant', async () => {
    const { app, url } = await h.boot(syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS }));
    const tenancy = app.get<Tenancy>(TENANCY);
    const a = await tenancy.tenants.create({ slug: 'tenant-a', name: 'Tenant A' });
    await tenancy.tenants.create({ slug: 'tenant-b', name: 'Tenant B' });

    const post = (tenant: string, body: string) =>
      call(`${url}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': tenant },
        body: JSON.stringify({ body }),
      });
    expect((await post(a.id, 'A content')).status).toBe(201);
    expect((await post('tenant-b', 'B content')).status).toBe(201);

    expect((await call(`${url}/notes`, { headers: { 'x-tenant-id': 'tenant-a' } })).body).toEqual([{ body: 'A content' }]);
    expect((await call(`${url}/notes`, { headers: { 'x-tenant-id': 'tenant-b' } })).body).toEqual([{ body: 'B content' }]);
  });

  it("answers a request without a tenant with seed 000's 400", async () => {
    const { url } = await h.boot(syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS }));
    const res = await call(`${url}/notes`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, code: 'TENANT_REQUIRED', message: 'Tenant ID is missing in x-tenant-id header' });
  });

  it('serves @SkipTenancy routes without a tenant', async () => {
    const { url } = await h.boot(syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS }));
    const res = await call(`${url}/public`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ tenant: null, context: null, tenancy: 'function' });
  });

  it('closes the tenancy it created when the application closes', async () => {
    const { app } = await h.boot(syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS }));
    const tenancy = app.get<Tenancy>(TENANCY);
    await app.close();
    const err = await tenancy.resolve('tenant-a').catch((e: unknown) => e);
    expect(isTenantryError(err, 'TENANCY_CLOSED')).toBe(true);
  });

  it('uses a given Tenancy instance and leaves it open unless closeOnShutdown', async () => {
    const tenancy = await createTenancy({ registryUrl: h.db.url, migrations: MIGRATIONS });
    try {
      const { app, url } = await h.boot(syncFixture({ tenancy }));
      expect(app.get(TENANCY)).toBe(tenancy);
      expect((await call(`${url}/notes`, { headers: { 'x-tenant-id': 'tenant-a' } })).body).toEqual([{ body: 'A content' }]);
      await app.close();
      expect((await tenancy.resolve('tenant-a')).slug).toBe('tenant-a');
    } finally {
      await tenancy.close();
    }
    const owned = await createTenancy({ registryUrl: h.db.url, migrations: MIGRATIONS });
    const { app } = await h.boot(syncFixture({ tenancy: owned, closeOnShutdown: true }));
    await app.close();
    expect(isTenantryError(await owned.resolve('tenant-a').catch((e: unknown) => e), 'TENANCY_CLOSED')).toBe(true);
  });

  it('rejects malformed options at boot with INVALID_ARGUMENT', async () => {
    expect(() => syncFixture({ registryUrl: h.db.url, resolvers: ['x-tenant-id' as never] })).toThrow(
      /resolvers must be an array of resolver functions/,
    );
    await expect(h.boot(syncFixture({ registryUrl: 'mysql://nope' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
