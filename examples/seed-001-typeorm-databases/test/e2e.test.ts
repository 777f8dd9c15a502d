import { describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { serve } from './serve.js';

const { app, call, db } = await serve(4);
const tenancy = app.get<Tenancy>(TENANCY);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The databases on the server whose names are among `names`. */
async function existing(...names: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('select datname::text from pg_database where datname = any($1) order by 1', [
      names,
    ]);
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

/** Checkouts so far on the registry server's primary and on its read-replica route. */
function checkouts(): { primary: number; replica: number } {
  const servers = tenancy.stats().servers;
  return {
    primary: servers.find((s) => s.server === 'tenant-db')?.checkouts ?? 0,
    replica: servers.find((s) => s.server === 'tenant-db:replica')?.checkouts ?? 0,
  };
}

describe('seed 001 on Tenantry: a database per tenant, provisioned, renamed and deleted over real HTTP', () => {
  it('POST /tenant-databases creates a migrated database, named by Tenantry or by the caller, and the record shows the seed fields', async () => {
    const generated = await call('/tenant-databases', { method: 'POST', body: { tenantId: 'acme', name: 'Acme Corp' } });
    expect(generated).toMatchObject({
      status: 201,
      body: {
        tenantId: 'acme',
        name: 'Acme Corp',
        status: 'ACTIVE',
        schemaVersion: 'CreateCustomers1700000000000',
        errorMessage: null,
        readServer: 'tenant-db:replica',
      },
    });
    expect(generated.body.id).toMatch(UUID);
    expect(generated.body.databaseName).toBe(`t_${generated.body.id.replaceAll('-', '')}`);
    expect(generated.body.readDatabaseName).toBe(generated.body.databaseName);
    expect(Date.now() - Date.parse(generated.body.lastMigrationAt)).toBeLessThan(60_000);

    // Seed 001's call: createTenantDatabase({ tenantId, databaseName: 'tenant_abc123' }).
    const custom = await call('/tenant-databases', { method: 'POST', body: { tenantId: 'globex', databaseName: 'tenant_abc123' } });
    expect(custom).toMatchObject({
      status: 201,
      body: { tenantId: 'globex', name: 'globex', databaseName: 'tenant_abc123', readDatabaseName: 'tenant_abc123', status: 'ACTIVE' },
    });
    expect(await existing(generated.body.databaseName, 'tenant_abc123')).toEqual([generated.body.databaseName, 'tenant_abc123'].sort());

    // The customers table of the tenant migrations is in each database.
    const direct = new pg.Client({ connectionString: db.urlFor('tenant_abc123') });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ c: string }>(
        "select column_name::text as c from information_schema.columns where table_schema = 'public' and table_name = 'customers' order by ordinal_position",
      );
      expect(rows.map((r) => r.c)).toEqual(['id', 'name', 'email', 'createdAt']);
    } finally {
      await direct.end();
    }

    expect((await call('/tenant-databases/acme')).body).toEqual(generated.body);
    expect((await call(`/tenant-databases/${custom.body.id}`)).body).toEqual(custom.body);
    expect((await call('/tenant-databases')).body.map((r: { tenantId: string }) => r.tenantId).sort()).toEqual(['acme', 'globex']);
    expect(await call('/tenant-databases/nobody-here')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect(await call('/tenant-databases', { method: 'POST', body: { tenantId: 'acme' } })).toMatchObject({
      status: 409,
      body: { code: 'TENANT_EXISTS' },
    });
    // A database name is never given to two tenants.
    expect(await call('/tenant-databases', { method: 'POST', body: { tenantId: 'initech', databaseName: 'tenant_abc123' } })).toMatchObject(
      { status: 409, body: { code: 'TENANT_EXISTS' } },
    );
    // Nor one that exists on the server already: here, the master database.
    const master = new URL(db.url).pathname.slice(1);
    expect(await call('/tenant-databases', { method: 'POST', body: { tenantId: 'initech', databaseName: master } })).toMatchObject({
      status: 409,
      body: { code: 'TENANT_EXISTS' },
    });
    expect((await call('/tenant-databases/initech')).status).toBe(404);
  });

  it.each([
    ['an injection', 'x"; drop database master;--'],
    ['upper case', 'Tenant_ABC'],
    ['a hyphen', 'tenant-abc'],
    ['64 characters', `t${'a'.repeat(63)}`],
    ['a system name', 'pg_catalog'],
    ['a reserved name', 'postgres'],
    ["Tenantry's prefix", 'tenantry_x'],
    ["a generated name's form", `t_${'0'.repeat(32)}`],
    ['an empty string', ''],
  ])('refuses a hostile databaseName (%s) with 400 INVALID_ARGUMENT and creates nothing', async (_, databaseName) => {
    const reply = await call('/tenant-databases', { method: 'POST', body: { tenantId: 'hostile', databaseName } });
    expect(reply).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    // Worded with the seed's field name.
    expect(reply.body.message).toMatch(/^databaseName /);
    expect((await call('/tenant-databases/hostile')).status).toBe(404);
  });

  it("keeps each tenant's customers in its own database: same email in both, no id crosses over", async () => {
    const ada = await call('/customers', { method: 'POST', tenant: 'acme', body: { name: 'Ada', email: 'ada@example.test' } });
    expect(ada).toMatchObject({ status: 201, body: { name: 'Ada', email: 'ada@example.test' } });
    expect(
      (await call('/customers', { method: 'POST', tenant: 'globex', body: { name: 'Ada (Globex)', email: 'ada@example.test' } })).status,
    ).toBe(201);
    expect(
      await call('/customers', { method: 'POST', tenant: 'acme', body: { name: 'Ada again', email: 'ada@example.test' } }),
    ).toMatchObject({
      status: 409,
    });
    expect((await call('/customers', { tenant: 'acme' })).body.map((c: { name: string }) => c.name)).toEqual(['Ada']);
    expect((await call('/customers', { tenant: 'globex' })).body.map((c: { name: string }) => c.name)).toEqual(['Ada (Globex)']);
    expect((await call(`/customers/${ada.body.id}`, { tenant: 'acme' })).body.name).toBe('Ada');
    expect((await call(`/customers/${ada.body.id}`, { tenant: 'globex' })).status).toBe(404);
    expect(await call('/customers')).toMatchObject({ status: 400, body: { code: 'TENANT_REQUIRED' } });
    expect(await call('/customers', { tenant: 'nobody-here' })).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
  });

  it('routes reads to the read database (the replica route) and writes to the primary', async () => {
    const before = checkouts();
    for (let i = 0; i < 3; i++) expect((await call('/customers', { tenant: 'acme' })).status).toBe(200);
    const afterReads = checkouts();
    expect(afterReads.replica - before.replica).toBe(3);
    expect(afterReads.primary).toBe(before.primary);
    expect(
      (await call('/customers', { method: 'POST', tenant: 'acme', body: { name: 'Grace', email: 'grace@example.test' } })).status,
    ).toBe(201);
    const afterWrite = checkouts();
    expect(afterWrite.replica).toBe(afterReads.replica);
    expect(afterWrite.primary).toBeGreaterThan(afterReads.primary);
    // A read unit of work cannot write: it is read-only, wherever it runs.
    await expect(
      tenancy.withTenant('acme', (t) => t.query("insert into customers (name, email) values ('x', 'x@x.test')"), { readOnly: true }),
    ).rejects.toMatchObject({
      code: '25006',
    });
  });

  it('PATCH /tenant-databases/:tenantId renames the physical database; data, reads and the record follow', async () => {
    const before = (await call('/tenant-databases/acme')).body;
    const renamed = await call('/tenant-databases/acme', { method: 'PATCH', body: { databaseName: 'tenant_acme' } });
    expect(renamed).toMatchObject({
      status: 200,
      body: { id: before.id, tenantId: 'acme', databaseName: 'tenant_acme', readDatabaseName: 'tenant_acme', status: 'ACTIVE' },
    });
    expect(await existing(before.databaseName, 'tenant_acme')).toEqual(['tenant_acme']);
    expect((await call('/customers', { tenant: 'acme' })).body.map((c: { name: string }) => c.name)).toEqual(['Ada', 'Grace']);
    expect(
      (await call('/customers', { method: 'POST', tenant: 'acme', body: { name: 'Linus', email: 'linus@example.test' } })).status,
    ).toBe(201);
    expect((await call('/tenant-databases/acme')).body.databaseName).toBe('tenant_acme');

    expect(await call('/tenant-databases/acme', { method: 'PATCH', body: { databaseName: 'tenant_abc123' } })).toMatchObject({
      status: 409,
      body: { code: 'TENANT_EXISTS' },
    });
    const hostile = await call('/tenant-databases/acme', { method: 'PATCH', body: { databaseName: 'x; drop database tenant_acme' } });
    expect(hostile).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
    expect(hostile.body.message).toMatch(/^databaseName must be/);
    expect(await call('/tenant-databases/acme', { method: 'PATCH', body: { databaseName: 'postgres' } })).toMatchObject({ status: 400 });
    expect(await call('/tenant-databases/nobody-here', { method: 'PATCH', body: { databaseName: 'tenant_x' } })).toMatchObject({
      status: 404,
    });
    expect((await call('/tenant-databases/acme')).body.databaseName).toBe('tenant_acme');
  });

  it('DELETE /tenant-databases/:tenantId drops the database; the record stays DELETED and the names are free again', async () => {
    const globex = (await call('/tenant-databases/globex')).body;
    expect((await call('/tenant-databases/globex', { method: 'DELETE' })).status).toBe(204);
    expect(await existing('tenant_abc123')).toEqual([]);
    expect(await call('/tenant-databases/globex')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect((await call(`/tenant-databases/${globex.id}`)).body).toMatchObject({
      id: globex.id,
      databaseName: 'tenant_abc123',
      status: 'DELETED',
    });
    expect(await call('/customers', { tenant: 'globex' })).toMatchObject({ status: 404 });
    expect((await call('/tenant-databases')).body.map((r: { tenantId: string }) => r.tenantId)).toEqual(['acme']);
    // Acme is untouched.
    expect((await call('/customers', { tenant: 'acme' })).body).toHaveLength(3);

    const again = await call('/tenant-databases', { method: 'POST', body: { tenantId: 'globex', databaseName: 'tenant_abc123' } });
    expect(again).toMatchObject({ status: 201, body: { databaseName: 'tenant_abc123', status: 'ACTIVE' } });
    expect(again.body.id).not.toBe(globex.id);
    expect((await call('/customers', { tenant: 'globex' })).body).toEqual([]);
  });
});
