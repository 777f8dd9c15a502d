import { describe, expect, it } from 'vitest';
import type { Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { ADMIN_TOKEN, http, setupApi } from './helpers.js';

const h = await setupApi();
const admin = { token: ADMIN_TOKEN };

describe('the pending-tenant pool in the reference API', () => {
  it('POST /tenants claims a ready tenant, /admin/stats shows the pool, and the signup works at once', async () => {
    const api = await h.start({ TENANTRY_PENDING_SCHEMA_TENANTS: '2' });
    const tenancy = api.api.app.get<symbol, Tenancy>(TENANCY);
    await tenancy.tenants.fillPending();
    const { rows: ready } = await h.admin.query<{ id: string }>(
      "select id from tenantry.tenants where kind = 'pending' and status = 'ACTIVE' order by seq",
    );
    expect(ready).toHaveLength(2);
    const created = await http(api.url, 'POST', '/tenants', { ...admin, body: { name: 'Pool Signup', slug: 'pool-signup' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: ready[0]!.id, slug: 'pool-signup', status: 'ACTIVE' });
    // Not listed before, listed now; the pool is not a tenant.
    const list = await http(api.url, 'GET', '/tenants', admin);
    expect((list.body.items as { slug: string }[]).map((t) => t.slug)).toEqual(['pool-signup']);
    await tenancy.tenants.fillPending();
    const stats = await http(api.url, 'GET', '/admin/stats', admin);
    expect(stats.status).toBe(200);
    expect(stats.body.pendingTenants).toMatchObject({
      size: { schema: 2, database: 0 },
      servers: [{ server: 'default', isolation: 'schema', ready: 2, total: 2 }],
      claims: 1,
    });
    expect(stats.body.tenants.live).toBe(1);
  });

  it('refuses a pool size out of range at start, naming the variable', async () => {
    await expect(h.start({ TENANTRY_PENDING_SCHEMA_TENANTS: '1000' })).rejects.toThrow(/TENANTRY_PENDING_SCHEMA_TENANTS/);
    await expect(h.start({ TENANTRY_PENDING_DATABASE_TENANTS: '-1' })).rejects.toThrow(/TENANTRY_PENDING_DATABASE_TENANTS/);
  });
});
