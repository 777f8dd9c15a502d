import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type Tenancy } from '@tenantry/core';
import { TENANCY, TENANTRY_HTTP_STATUS } from '../dist/index.js';
import { syncFixture } from './fixtures/app.js';
import { call, MIGRATIONS, setupHarness, type Booted } from './helpers.js';

const h = await setupHarness();
let booted: Booted;

beforeAll(async () => {
  booted = await h.boot(syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS, pool: { max: 2, acquireTimeoutMillis: 300 } }));
  const tenancy = booted.app.get<Tenancy>(TENANCY);
  await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
  await tenancy.tenants.create({ slug: 'paused', name: 'Paused' });
  await tenancy.tenants.suspend('paused');
});

const get = (path: string, tenant: string | undefined = 'acme') =>
  call(`${booted.url}${path}`, { headers: tenant === undefined ? {} : { 'x-tenant-id': tenant } });

describe('TenancyExceptionFilter', () => {
  it.each([
    ['TENANT_REQUIRED', 400],
    ['INVALID_TENANT_ID', 400],
    ['INVALID_ARGUMENT', 400],
    ['INVALID_DOMAIN', 400],
    ['TENANT_NOT_FOUND', 404],
    ['TENANT_SUSPENDED', 403],
    ['TENANT_MISMATCH', 403],
    ['TENANT_NOT_READY', 503],
    ['TENANT_EXISTS', 409],
    ['DOMAIN_EXISTS', 409],
    ['INVALID_STATE_TRANSITION', 409],
    ['CONNECTION_BUDGET_EXHAUSTED', 503],
    ['SERVER_UNAVAILABLE', 503],
    ['PROVISIONING_FAILED', 500],
    ['MIGRATION_FAILED', 500],
    ['UNIT_OF_WORK_CLOSED', 500],
    ['TENANCY_CLOSED', 500],
    ['INTERNAL', 500],
  ])('maps %s to %i with { statusCode, code, message }', async (code, status) => {
    const res = await get(`/errors/${code}`);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.statusCode).toBe(status);
    expect(res.body.code).toBe(code);
    expect(typeof res.body.message).toBe('string');
    expect(Object.keys(res.body).sort()).toEqual(['code', 'message', 'statusCode']);
    if (status >= 500) expect(res.body.message).not.toContain('secret internal detail');
    if (code === 'TENANT_NOT_READY') expect(res.headers.get('retry-after')).toBe('5');
    if (code === 'PROVISIONING_FAILED')
      expect(res.body.message).toMatch(/could not be provisioned and nothing was kept; .*delete the FAILED tenant and create it again$/);
    if (code === 'CONNECTION_BUDGET_EXHAUSTED' || code === 'SERVER_UNAVAILABLE') expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('has a status for every Tenantry error code, and no other key', () => {
    expect(Object.keys(TENANTRY_HTTP_STATUS).sort()).toEqual(Object.values(ErrorCodes).sort());
    for (const status of Object.values(TENANTRY_HTTP_STATUS)) expect([400, 403, 404, 409, 422, 500, 503]).toContain(status);
  });

  it('answers an error that is not Tenantry’s or Nest’s with a bare 500', async () => {
    const res = await get('/errors/PLAIN');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, code: 'INTERNAL', message: 'Internal server error' });
  });

  it('gives Nest’s own errors a code: unknown route', async () => {
    const res = await get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: 'Cannot GET /no/such/route' });
  });

  it('answers a suspended tenant 403 and an unknown one 404, from the real registry', async () => {
    expect((await get('/notes', 'paused')).body).toEqual({
      statusCode: 403,
      code: 'TENANT_SUSPENDED',
      message: "tenant 'paused' is suspended",
    });
    expect((await get('/notes', 'nobody')).body).toEqual({ statusCode: 404, code: 'TENANT_NOT_FOUND', message: "no tenant 'nobody'" });
    expect((await get('/notes', 'Not A Slug')).status).toBe(400);
  });

  it('answers a tenant that is MIGRATING 503 with Retry-After', async () => {
    const { rows } = await h.admin.query<{ id: string }>(
      "update tenantry.tenants set status = 'MIGRATING' where slug = 'acme' returning id",
    );
    await h.admin.query('select tenantry.notify_change($1)', [rows[0]!.id]);
    try {
      // The notification reaches the cache asynchronously: ask until it did.
      let res = await get('/notes');
      for (let i = 0; i < 50 && res.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 20));
        res = await get('/notes');
      }
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.body).toEqual({ statusCode: 503, code: 'TENANT_NOT_READY', message: "tenant 'acme' is not ready; retry in 5 seconds" });
    } finally {
      await h.admin.query("update tenantry.tenants set status = 'ACTIVE' where slug = 'acme'");
      await h.admin.query('select tenantry.notify_change($1)', [rows[0]!.id]);
      const tenancy = booted.app.get<Tenancy>(TENANCY);
      for (
        let i = 0;
        i < 100 &&
        !(await tenancy.resolve('acme').then(
          () => true,
          () => false,
        ));
        i++
      )
        await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('answers 503 CONNECTION_BUDGET_EXHAUSTED when every connection stays busy', async () => {
    const tenancy = booted.app.get<Tenancy>(TENANCY);
    let res: Awaited<ReturnType<typeof get>> | undefined;
    // Hold both pooled connections while the request waits for one.
    await tenancy.withTenant('acme', async () => {
      await tenancy.withTenant('acme', async () => {
        res = await get('/notes');
      });
    });
    expect(res!.status).toBe(503);
    expect(res!.body.code).toBe('CONNECTION_BUDGET_EXHAUSTED');
    expect(res!.headers.get('retry-after')).toBe('1');
    // And the pool is usable again afterwards.
    expect((await get('/notes')).status).toBe(200);
  });
});
