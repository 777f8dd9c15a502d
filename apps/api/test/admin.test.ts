import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, getWithHost, http, setupApi, tenantWithToken } from './helpers.js';

const h = await setupApi();
const api = await h.start();
const u = api.url;
const admin = { token: ADMIN_TOKEN };

describe('admin API authentication', () => {
  it('rejects a missing, wrong or tenant token with 401 UNAUTHORIZED', async () => {
    const missing = await http(u, 'GET', '/tenants');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      statusCode: 401,
      code: 'UNAUTHORIZED',
      message: 'admin routes need Authorization: Bearer <admin token>',
    });
    const wrong = await http(u, 'GET', '/tenants', { token: `${ADMIN_TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('UNAUTHORIZED');
    const basic = await http(u, 'GET', '/tenants', {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    const { token } = await tenantWithToken(u, 'Token Holder');
    expect((await http(u, 'GET', '/tenants', { token })).status).toBe(401);
    expect((await http(u, 'POST', '/tenants', { token, body: { name: 'Sneaky' } })).status).toBe(401);
  });
});

describe('tenants', () => {
  it('creates a tenant, deriving the slug from the name', async () => {
    const res = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Café Zürich & Co.' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      slug: 'cafe-zurich-co',
      name: 'Café Zürich & Co.',
      status: 'ACTIVE',
      isolation: 'schema',
      schemaVersion: '0002_create_users',
    });
    expect(res.body.id).toMatch(/^[0-9a-f]{8}-/);
    expect(res.body.schema).toBe(`t_${res.body.id.replace(/-/g, '')}`);
  });

  it('takes an Idempotency-Key: a retry gets the same tenant, not 409; the same key with another body answers 422', async () => {
    const headers = { 'idempotency-key': 'create-idem-1' };
    const first = await http(u, 'POST', '/tenants', { ...admin, headers, body: { name: 'Idem', slug: 'idem-one' } });
    expect(first.status).toBe(201);
    const retry = await http(u, 'POST', '/tenants', { ...admin, headers, body: { name: 'Idem', slug: 'idem-one' } });
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ id: first.body.id, status: 'ACTIVE' });
    const other = await http(u, 'POST', '/tenants', { ...admin, headers, body: { name: 'Idem', slug: 'idem-two' } });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Without a key, the same request is a conflict as before.
    expect((await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Idem', slug: 'idem-one' } })).status).toBe(409);
    const bad = await http(u, 'POST', '/tenants', { ...admin, headers: { 'idempotency-key': 'k'.repeat(256) }, body: { name: 'Idem' } });
    expect(bad.status).toBe(400);
  });

  it('takes an explicit slug, or seed 000’s subdomain as the slug', async () => {
    expect((await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Explicit', slug: 'explicit-one' } })).body.slug).toBe(
      'explicit-one',
    );
    expect((await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Seedy', subdomain: 'seedy-sub' } })).body.slug).toBe('seedy-sub');
    const both = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Both', slug: 'both-a', subdomain: 'both-b' } });
    expect(both.status).toBe(400);
    expect(both.body.code).toBe('VALIDATION_FAILED');
  });

  it('creates a database tenant on a named server with a plan, and refuses an unknown isolation or server', async () => {
    const res = await http(u, 'POST', '/tenants', {
      ...admin,
      body: { name: 'Own Database', slug: 'own-db', isolation: 'database', server: 'default', plan: 'pro' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      slug: 'own-db',
      status: 'ACTIVE',
      isolation: 'database',
      server: 'default',
      plan: 'pro',
      schema: null,
      schemaVersion: '0002_create_users',
    });
    expect(res.body.database).toBe(`t_${res.body.id.replace(/-/g, '')}`);
    const { token } = (await http(u, 'POST', '/tenants/own-db/tokens', admin)).body;
    const post = await http(u, 'POST', '/posts', {
      token,
      headers: { 'x-tenant-id': 'own-db' },
      body: { title: 'In its own database', content: 'x', published: true },
    });
    expect(post.status).toBe(201);
    expect(
      (await http(u, 'GET', '/posts', { token, headers: { 'x-tenant-id': 'own-db' } })).body.map((p: { title: string }) => p.title),
    ).toEqual(['In its own database']);
    const badIsolation = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Bad', isolation: 'table' } });
    expect(badIsolation.status).toBe(400);
    expect(badIsolation.body.errors).toEqual([{ field: 'isolation', messages: ["isolation must be 'schema' or 'database'"] }]);
    const noServer = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Nowhere', server: 'mars-1' } });
    expect(noServer.status).toBe(404);
    expect(noServer.body.code).toBe('SERVER_NOT_FOUND');
    const badServer = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Bad', server: "x'; drop table tenants; --" } });
    expect(badServer.status).toBe(400);
    expect(badServer.body.errors[0].field).toBe('server');
    expect((await http(u, 'DELETE', '/tenants/own-db', admin)).status).toBe(200);
  });

  it('answers 409 TENANT_EXISTS for a taken slug and 400 for a bad one', async () => {
    const dup = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Explicit again', slug: 'explicit-one' } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('TENANT_EXISTS');
    const bad = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Bad', slug: 'Bad_Slug' } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(bad.body.errors).toEqual([{ field: 'slug', messages: [expect.stringContaining('slug must be 3–63 lowercase letters')] }]);
    const underivable = await http(u, 'POST', '/tenants', { ...admin, body: { name: '!!' } });
    expect(underivable.status).toBe(400);
    expect(underivable.body.errors[0].field).toBe('slug');
    const noName = await http(u, 'POST', '/tenants', { ...admin, body: { slug: 'no-name' } });
    expect(noName.status).toBe(400);
    expect(noName.body.errors.map((e: { field: string }) => e.field)).toEqual(['name']);
  });

  it('lists tenants a page at a time', async () => {
    const first = await http(u, 'GET', '/tenants?limit=2', admin);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(typeof first.body.nextCursor).toBe('string');
    const second = await http(u, 'GET', `/tenants?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`, admin);
    expect(second.body.items).toHaveLength(2);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    const all = await http(u, 'GET', '/tenants?limit=1000', admin);
    expect(all.body.nextCursor).toBeNull();
    expect((await http(u, 'GET', '/tenants?limit=0', admin)).status).toBe(400);
    expect((await http(u, 'GET', '/tenants?cursor=forged', admin)).body.code).toBe('INVALID_ARGUMENT');
    expect((await http(u, 'GET', '/tenants?status=ACTIVE', admin)).status).toBe(200);
    expect((await http(u, 'GET', '/tenants?status=HAPPY', admin)).status).toBe(400);
  });

  it('gets a tenant by id or slug, 404 for none, 400 for junk', async () => {
    const bySlug = await http(u, 'GET', '/tenants/explicit-one', admin);
    expect(bySlug.status).toBe(200);
    expect(bySlug.body.domains).toEqual([]);
    expect((await http(u, 'GET', `/tenants/${bySlug.body.id}`, admin)).body.slug).toBe('explicit-one');
    const none = await http(u, 'GET', '/tenants/nobody-home', admin);
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('TENANT_NOT_FOUND');
    expect((await http(u, 'GET', `/tenants/${encodeURIComponent("x' or 1=1 --")}`, admin)).status).toBe(400);
  });

  it('renames: display name and slug', async () => {
    const { tenant } = await tenantWithToken(u, 'Old Name', 'old-slug');
    const renamed = await http(u, 'PATCH', `/tenants/${tenant.id}`, { ...admin, body: { name: 'New Name', slug: 'new-slug' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: tenant.id, name: 'New Name', slug: 'new-slug', schema: tenant.schema });
    expect((await http(u, 'GET', '/tenants/new-slug', admin)).body.name).toBe('New Name');
    expect((await http(u, 'GET', '/tenants/old-slug', admin)).status).toBe(404);
    expect((await http(u, 'PATCH', `/tenants/${tenant.id}`, { ...admin, body: {} })).status).toBe(400);
    expect((await http(u, 'PATCH', `/tenants/${tenant.id}`, { ...admin, body: { slug: 'explicit-one' } })).status).toBe(409);
    expect((await http(u, 'PATCH', `/tenants/${tenant.id}`, { ...admin, body: { status: 'ACTIVE' } })).status).toBe(400);
    const activity = await http(u, 'GET', `/tenants/${tenant.id}/activity`, admin);
    expect(activity.body.map((a: { action: string }) => a.action)).toEqual(['create', 'provisioned', 'rename', 'update']);
    expect(activity.body.every((a: { actor: string }) => a.actor === 'admin-api')).toBe(true);
  });

  it('suspends and resumes: tenant requests answer 403 TENANT_SUSPENDED meanwhile', async () => {
    const { tenant, token } = await tenantWithToken(u, 'Sleepy');
    const suspended = await http(u, 'POST', `/tenants/${tenant.id}/suspend`, { ...admin, body: { reason: 'unpaid invoice' } });
    expect(suspended.status).toBe(200);
    expect(suspended.body.status).toBe('SUSPENDED');
    const blocked = await http(u, 'GET', '/posts', { tenant: 'sleepy', token });
    expect(blocked.status).toBe(403);
    expect(blocked.body).toEqual({ statusCode: 403, code: 'TENANT_SUSPENDED', message: "tenant 'sleepy' is suspended" });
    expect((await http(u, 'POST', `/tenants/${tenant.id}/tokens`, admin)).body.code).toBe('TENANT_SUSPENDED');
    // Idempotent.
    expect((await http(u, 'POST', `/tenants/${tenant.id}/suspend`, admin)).status).toBe(200);
    const resumed = await http(u, 'POST', `/tenants/${tenant.id}/resume`, admin);
    expect(resumed.body.status).toBe('ACTIVE');
    expect((await http(u, 'GET', '/posts', { tenant: 'sleepy', token })).status).toBe(200);
    const log = await http(u, 'GET', `/tenants/sleepy/activity?limit=10`, admin);
    expect(log.body.find((a: { action: string }) => a.action === 'suspend').detail).toEqual({ reason: 'unpaid invoice' });
  });

  it('deletes: the tenant is gone for requests, the slug is free again, deleting again is a no-op', async () => {
    const { tenant, token } = await tenantWithToken(u, 'Doomed');
    const deleted = await http(u, 'DELETE', `/tenants/${tenant.id}`, admin);
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('DELETED');
    const gone = await http(u, 'GET', '/posts', { tenant: tenant.id, token });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('TENANT_NOT_FOUND');
    expect((await http(u, 'DELETE', `/tenants/${tenant.id}`, admin)).body.status).toBe('DELETED');
    expect((await http(u, 'POST', `/tenants/${tenant.id}/resume`, admin)).status).toBe(409);
    const again = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Doomed' } });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(tenant.id);
  });

  it('registers custom domains that the domain resolver then serves', async () => {
    const { tenant, token } = await tenantWithToken(u, 'Domained');
    const added = await http(u, 'POST', `/tenants/${tenant.id}/domains`, { ...admin, body: { domain: 'App.Domained.Test' } });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ domain: 'app.domained.test', tenantId: tenant.id });
    expect((await http(u, 'POST', `/tenants/explicit-one/domains`, { ...admin, body: { domain: 'app.domained.test' } })).status).toBe(409);
    expect((await http(u, 'POST', `/tenants/${tenant.id}/domains`, { ...admin, body: { domain: 'not a domain' } })).body.code).toBe(
      'INVALID_DOMAIN',
    );
    expect((await http(u, 'GET', `/tenants/${tenant.id}/domains`, admin)).body).toEqual({ domains: ['app.domained.test'] });
    await http(u, 'POST', '/posts', { tenant: tenant.id, token, body: { title: 'on my domain', content: '' } });
    const viaHost = await getWithHost(api.port, '/posts', 'app.domained.test', { authorization: `Bearer ${token}` });
    expect(viaHost.status).toBe(200);
    expect(viaHost.body.map((p: { title: string }) => p.title)).toEqual(['on my domain']);
    expect((await http(u, 'DELETE', `/tenants/${tenant.id}/domains/app.domained.test`, admin)).status).toBe(204);
    expect((await http(u, 'DELETE', `/tenants/${tenant.id}/domains/app.domained.test`, admin)).status).toBe(404);
    expect((await getWithHost(api.port, '/posts', 'app.domained.test', { authorization: `Bearer ${token}` })).body.code).toBe(
      'TENANT_REQUIRED',
    );
  });

  it('issues tenant tokens with a chosen subject and lifetime', async () => {
    const issued = await http(u, 'POST', '/tenants/explicit-one/tokens', { ...admin, body: { subject: 'ci-bot', ttlSeconds: 120 } });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ tokenType: 'Bearer' });
    const claims = JSON.parse(Buffer.from(issued.body.token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'ci-bot', tid: issued.body.tenantId, iss: 'tenantry-api', aud: 'tenantry-api:tenant' });
    expect(claims.exp - claims.iat).toBe(120);
    expect((await http(u, 'POST', '/tenants/explicit-one/tokens', { ...admin, body: { ttlSeconds: 10 } })).status).toBe(400);
    expect((await http(u, 'POST', '/tenants/nobody-home/tokens', admin)).status).toBe(404);
  });
});

describe('generated admin token', () => {
  it('is made on first start, printed once, kept only as a hash, and can be reset', async () => {
    const first = await h.start({ TENANTRY_ADMIN_TOKEN: '' });
    const token = first.api.secrets.generatedAdminToken;
    expect(token).toMatch(/^tnt_admin_[A-Za-z0-9_-]{43}$/);
    expect(first.api.secrets.adminTokenSource).toBe('generated');
    expect((await http(first.url, 'GET', '/tenants', { token })).status).toBe(200);
    const { rows } = await h.admin.query<{ key: string; value: string }>('select key, value from tenantry_api.settings order by key');
    expect(rows.map((r) => r.key)).toEqual(['admin_token_sha256']);
    expect(rows[0]!.value).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(token);
    await first.close();

    const second = await h.start({ TENANTRY_ADMIN_TOKEN: '' });
    expect(second.api.secrets.generatedAdminToken).toBeUndefined();
    expect(second.api.secrets.adminTokenSource).toBe('stored');
    expect((await http(second.url, 'GET', '/tenants', { token })).status).toBe(200);
    await second.close();

    const reset = await h.start({ TENANTRY_ADMIN_TOKEN: '', TENANTRY_RESET_ADMIN_TOKEN: '1' });
    const fresh = reset.api.secrets.generatedAdminToken;
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(token);
    expect((await http(reset.url, 'GET', '/tenants', { token })).status).toBe(401);
    expect((await http(reset.url, 'GET', '/tenants', { token: fresh })).status).toBe(200);
  });
});
