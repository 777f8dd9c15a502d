import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase } from '@tenantry/testing';
import { serve, type Served } from './serve.js';

/** Archives made by each ORM's app, restored by the other at the end. */
const archives = new Map<string, Buffer>();

describe.each(['typeorm', 'drizzle'] as const)('seed 002 on Tenantry with ORM=%s, over real HTTP', (orm) => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(orm);
  });
  afterAll(async () => {
    await s?.close();
  });
  const tenant = (slug: string) => ({ 'x-tenant-id': slug });

  it('POST /tenants makes a migrated schema per tenant, named by Tenantry or as the seed names them', async () => {
    const one = await s.call('/tenants', { method: 'POST', body: { name: 'Tenant 1', slug: 'tenant-1', schema: 'tenant_1' } });
    expect(one).toMatchObject({
      status: 201,
      body: { slug: 'tenant-1', schema: 'tenant_1', status: 'ACTIVE', schemaVersion: '0001_create_users' },
    });
    const two = await s.call('/tenants', { method: 'POST', body: { name: 'Tenant 2' } });
    expect(two).toMatchObject({ status: 201, body: { slug: 'tenant-2', status: 'ACTIVE' } });
    expect(two.body.schema).toBe(`t_${two.body.id.replaceAll('-', '')}`);
    expect((await s.call('/tenants')).body.map((t: { slug: string }) => t.slug).sort()).toEqual(['tenant-1', 'tenant-2']);
    expect(await s.call('/tenants', { method: 'POST', body: { name: 'Again', slug: 'tenant-3', schema: 'tenant_1' } })).toMatchObject({
      status: 409,
      body: { code: 'TENANT_EXISTS' },
    });
    expect(await s.call('/tenants', { method: 'POST', body: { name: 'Bad', schema: 'public; drop schema tenant_1' } })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT' },
    });

    // The seed's "Schema Structure": users in each tenant's schema, nowhere else.
    const client = new pg.Client({ connectionString: s.db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ schema: string }>(
        "select table_schema::text as schema from information_schema.tables where table_name = 'users' order by 1",
      );
      expect(rows.map((r) => r.schema)).toEqual([two.body.schema, 'tenant_1'].sort());
    } finally {
      await client.end();
    }
  });

  it('finds the tenant in the x-tenant-id header, the subdomain or the ?tenant= query, and keeps tenants apart', async () => {
    const ada = await s.call('/users', { method: 'POST', headers: tenant('tenant-1'), body: { name: 'Ada', email: 'ada@example.com' } });
    expect(ada).toMatchObject({ status: 201, body: { id: 1, name: 'Ada', email: 'ada@example.com' } });
    const grace = await s.call('/users', {
      method: 'POST',
      headers: { host: 'tenant-1.localhost' },
      body: { name: 'Grace', email: 'grace@example.com' },
    });
    expect(grace).toMatchObject({ status: 201, body: { id: 2, name: 'Grace' } });
    // Same email, other tenant: its own users table, its own serial.
    expect(await s.call('/users?tenant=tenant-2', { method: 'POST', body: { name: 'Ada (2)', email: 'ada@example.com' } })).toMatchObject({
      status: 201,
      body: { id: 1, name: 'Ada (2)' },
    });

    const names = (r: { body: { name: string }[] }) => r.body.map((u) => u.name);
    expect(names(await s.call('/users', { headers: tenant('tenant-1') }))).toEqual(['Ada', 'Grace']);
    expect(names(await s.call('/users', { headers: { host: 'tenant-1.localhost:3000' } }))).toEqual(['Ada', 'Grace']);
    expect(names(await s.call('/users?tenant=tenant-1'))).toEqual(['Ada', 'Grace']);
    expect(names(await s.call('/users', { headers: { host: 'tenant-2.localhost' } }))).toEqual(['Ada (2)']);
    // The header comes first, then the subdomain, then the query.
    expect(names(await s.call('/users?tenant=tenant-1', { headers: { ...tenant('tenant-2'), host: 'tenant-1.localhost' } }))).toEqual([
      'Ada (2)',
    ]);
    expect(names(await s.call('/users?tenant=tenant-2', { headers: { host: 'tenant-1.localhost' } }))).toEqual(['Ada', 'Grace']);

    expect((await s.call('/users/2', { headers: tenant('tenant-1') })).body.name).toBe('Grace');
    expect(await s.call('/users/2', { headers: tenant('tenant-2') })).toMatchObject({ status: 404 });
    expect(
      await s.call('/users', { method: 'POST', headers: tenant('tenant-1'), body: { name: 'Ada again', email: 'ada@example.com' } }),
    ).toMatchObject({
      status: 409,
    });
    expect(await s.call('/users/2', { method: 'DELETE', headers: tenant('tenant-2') })).toMatchObject({ status: 404 });
    expect(names(await s.call('/users', { headers: tenant('tenant-1') }))).toEqual(['Ada', 'Grace']);

    expect(await s.call('/users')).toMatchObject({ status: 400, body: { code: 'TENANT_REQUIRED' } });
    expect(await s.call('/users', { headers: { host: 'www.localhost' } })).toMatchObject({
      status: 400,
      body: { code: 'TENANT_REQUIRED' },
    });
    expect(await s.call('/users?tenant=nobody-here')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect(await s.call(`/users?tenant=${encodeURIComponent("x'; drop table users;--")}`)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_TENANT_ID' },
    });
    expect(await s.call('/users?tenant=tenant-1&tenant=tenant-2')).toMatchObject({ status: 400, body: { code: 'INVALID_TENANT_ID' } });
    expect((await s.call('/users', { method: 'POST', headers: tenant('tenant-1'), body: { name: 'No email' } })).status).toBe(400);
  });

  it('GET /monitoring/connections answers active, idle and total connections per server and per-tenant figures', async () => {
    const before = (await s.call('/monitoring/connections')).body;
    await Promise.all(Array.from({ length: 12 }, (_, i) => s.call('/users', { headers: tenant(i % 3 === 0 ? 'tenant-2' : 'tenant-1') })));
    const m = await s.call('/monitoring/connections');
    expect(m.status).toBe(200);
    expect(m.body.orm).toBe(orm);
    const server = m.body.servers.find((x: { server: string }) => x.server === 'default');
    expect(server).toMatchObject({ maxConnections: 4, waiting: 0 });
    expect(server.totalConnections).toBeGreaterThan(0);
    expect(server.totalConnections).toBeLessThanOrEqual(4);
    expect(server.activeConnections + server.idleConnections).toBe(server.totalConnections);
    expect(m.body.totalConnections).toBe(server.totalConnections);
    expect(m.body.activeConnections).toBe(server.activeConnections);
    expect(m.body.idleConnections).toBe(server.idleConnections);

    const usage = (body: { tenants: { tenant: string; unitsOfWork: number }[] }, slug: string) =>
      body.tenants.find((t) => t.tenant === slug)?.unitsOfWork ?? 0;
    expect(usage(m.body, 'tenant-1') - usage(before, 'tenant-1')).toBe(8);
    expect(usage(m.body, 'tenant-2') - usage(before, 'tenant-2')).toBe(4);
    const t1 = m.body.tenants.find((t: { tenant: string }) => t.tenant === 'tenant-1');
    expect(t1.server).toBe('default');
    expect(t1.averageMs).toBeGreaterThan(0);
    expect(t1.maxMs).toBeGreaterThanOrEqual(t1.averageMs);
    expect((await s.call('/monitoring/connections?limit=1')).body.tenants).toHaveLength(1);
  });

  it("backs up one tenant's schema and restores it in place and as a new tenant", async () => {
    const backup = await s.call('/tenants/tenant-1/backup');
    expect(backup.status).toBe(200);
    expect(backup.headers['content-type']).toBe('application/octet-stream');
    expect(backup.bytes.subarray(0, 18).toString()).toBe('TENANTRY-ARCHIVE 1');
    archives.set(orm, backup.bytes);

    // Changes after the backup are undone by the restore in place; other tenants are untouched.
    const linus = { method: 'POST', headers: tenant('tenant-1'), body: { name: 'Linus', email: 'linus@example.com' } };
    const firstLinus = (await s.call('/users', linus)).body.id as number;
    expect((await s.call('/users/1', { method: 'DELETE', headers: tenant('tenant-1') })).status).toBe(204);
    const octet = { 'content-type': 'application/octet-stream' };
    const restored = await s.call('/tenants/tenant-1/restore', { method: 'POST', headers: octet, body: backup.bytes });
    expect(restored).toMatchObject({ status: 200, body: { slug: 'tenant-1', status: 'ACTIVE' } });
    const names = async (slug: string) => (await s.call('/users', { headers: tenant(slug) })).body.map((u: { name: string }) => u.name);
    expect(await names('tenant-1')).toEqual(['Ada', 'Grace']);
    expect(await names('tenant-2')).toEqual(['Ada (2)']);
    // The serial is back where the archive left it: Linus, added again, gets the same id.
    expect((await s.call('/users', linus)).body.id).toBe(firstLinus);

    const copy = await s.call('/tenants/restore?slug=tenant-1-copy', { method: 'POST', headers: octet, body: backup.bytes });
    expect(copy).toMatchObject({ status: 201, body: { slug: 'tenant-1-copy', status: 'ACTIVE', schemaVersion: '0001_create_users' } });
    expect(await names('tenant-1-copy')).toEqual(['Ada', 'Grace']);

    expect(
      await s.call('/tenants/restore?slug=broken', { method: 'POST', headers: octet, body: backup.bytes.subarray(0, 60) }),
    ).toMatchObject({
      status: 422,
      body: { code: 'ARCHIVE_INVALID' },
    });
    expect(await s.call('/tenants/broken')).toMatchObject({ status: 404 });
    expect(await s.call('/tenants/tenant-1/restore', { method: 'POST', body: { not: 'an archive' } })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_ARGUMENT' },
    });
    expect(await s.call('/tenants/nobody-here/backup')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
  });
});

describe('seed 002: the ORM is a configuration, not a property of the data', () => {
  it('an archive made under one ORM restores under the other, and a registry made under TypeORM serves under Drizzle', async () => {
    expect([...archives.keys()].sort()).toEqual(['drizzle', 'typeorm']);
    const db = await createTestDatabase(inject('tenantryServerUrl'));
    try {
      const typeorm = await serve('typeorm', { db });
      try {
        const octet = { 'content-type': 'application/octet-stream' };
        expect(
          (await typeorm.call('/tenants/restore?slug=from-drizzle', { method: 'POST', headers: octet, body: archives.get('drizzle') }))
            .status,
        ).toBe(201);
        expect((await typeorm.call('/users?tenant=from-drizzle')).body.map((u: { name: string }) => u.name)).toEqual(['Ada', 'Grace']);
      } finally {
        await typeorm.close();
      }
      const drizzle = await serve('drizzle', { db });
      try {
        expect((await drizzle.call('/users?tenant=from-drizzle')).body.map((u: { name: string }) => u.name)).toEqual(['Ada', 'Grace']);
        const octet = { 'content-type': 'application/octet-stream' };
        expect(
          (await drizzle.call('/tenants/restore?slug=from-typeorm', { method: 'POST', headers: octet, body: archives.get('typeorm') }))
            .status,
        ).toBe(201);
        expect((await drizzle.call('/users?tenant=from-typeorm')).body.map((u: { name: string }) => u.name)).toEqual(['Ada', 'Grace']);
      } finally {
        await drizzle.close();
      }
    } finally {
      await db.drop();
    }
  });
});
