import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, http, setupApi } from './helpers.js';

const h = await setupApi();
const api = await h.start();
const u = api.url;
const admin = { token: ADMIN_TOKEN };
// Databases and roles are the server's, shared by every test file: names get this file's suffix.
const sfx = randomBytes(3).toString('hex');

describe('physical names over HTTP', () => {
  it('POST /tenants with physicalName makes the database under that name; POST /tenants/:id/physical-name renames it', async () => {
    const created = await http(u, 'POST', '/tenants', {
      ...admin,
      body: { name: 'Acme Corp', slug: 'acmecorp', isolation: 'database', physicalName: `tenant_acmecorp_${sfx}` },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'ACTIVE', database: `tenant_acmecorp_${sfx}`, schema: null });

    const renamed = await http(u, 'POST', `/tenants/${created.body.id}/physical-name`, {
      ...admin,
      body: { physicalName: `tenant_acme_${sfx}`, drainMs: 100 },
    });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({ id: created.body.id, status: 'ACTIVE', database: `tenant_acme_${sfx}` });
    const { rows } = await h.admin.query('select datname from pg_database where datname = any($1::text[]) order by 1', [
      [`tenant_acmecorp_${sfx}`, `tenant_acme_${sfx}`],
    ]);
    expect(rows).toEqual([{ datname: `tenant_acme_${sfx}` }]);
    const activity = await http(u, 'GET', `/tenants/${created.body.id}/activity`, admin);
    expect(activity.body.map((a: { action: string }) => a.action)).toContain('physical-rename');
  });

  it('hostile or reserved names answer 400 INVALID_ARGUMENT, a taken one 409 TENANT_EXISTS, a non-string 400 VALIDATION_FAILED', async () => {
    for (const physicalName of ['x"; drop schema tenantry cascade; --', 'pg_catalog', 'public', 'tenantry', 'Robert', 'a-b']) {
      const res = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Bad', slug: 'bad-name', physicalName } });
      expect(res.status, physicalName).toBe(400);
      expect(res.body.code, physicalName).toBe('INVALID_ARGUMENT');
    }
    const first = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'First', slug: 'first', physicalName: `taken_${sfx}` } });
    expect(first.status).toBe(201);
    expect(first.body.schema).toBe(`taken_${sfx}`);
    const second = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Second', slug: 'second', physicalName: `taken_${sfx}` } });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('TENANT_EXISTS');
    const other = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Other', slug: 'other' } });
    const rename = await http(u, 'POST', `/tenants/${other.body.id}/physical-name`, { ...admin, body: { physicalName: `taken_${sfx}` } });
    expect(rename.status).toBe(409);
    expect(rename.body.code).toBe('TENANT_EXISTS');
    const hostile = await http(u, 'POST', `/tenants/${other.body.id}/physical-name`, {
      ...admin,
      body: { physicalName: "'; select 1; --" },
    });
    expect(hostile.status).toBe(400);
    expect(hostile.body.code).toBe('INVALID_ARGUMENT');
    const notString = await http(u, 'POST', `/tenants/${other.body.id}/physical-name`, { ...admin, body: { physicalName: 42 } });
    expect(notString.status).toBe(400);
    expect(notString.body.code).toBe('VALIDATION_FAILED');
    const unknown = await http(u, 'POST', '/tenants/no-such-tenant/physical-name', { ...admin, body: { physicalName: `x_${sfx}` } });
    expect(unknown.status).toBe(404);
  });
});
