import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, http, setupApi, tenantWithToken } from './helpers.js';

/**
 * Tenant migrations over HTTP, with the service's own migration set (0001_create_posts,
 * 0002_create_users): status, dry runs, runs with nothing to do, a rollback and the migration
 * that brings it back, and a run that fails on a tenant whose schema drifted.
 */
const h = await setupApi();
const api = await h.start();
const u = api.url;
const admin = { token: ADMIN_TOKEN };
const LATEST = '0002_create_users';

const alpha = await tenantWithToken(u, 'Alpha', 'mig-alpha');
const beta = await tenantWithToken(u, 'Beta', 'mig-beta');
const gamma = await tenantWithToken(u, 'Gamma', 'mig-gamma');

async function schemaVersion(slug: string): Promise<string | null> {
  const res = await http(u, 'GET', `/tenants/${slug}`, admin);
  expect(res.status).toBe(200);
  return res.body.schemaVersion as string | null;
}

function bySlug(results: { tenant: { slug: string } }[]): Record<string, any> {
  return Object.fromEntries(results.map((r) => [r.tenant.slug, r]));
}

describe('admin API authentication on /admin/migrations', () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/admin/migrations'],
    ['POST', '/admin/migrations', { dryRun: true }],
    ['POST', '/admin/migrations/rollback', { tenants: ['mig-alpha'] }],
  ];
  it.each(routes)('%s %s answers 401 without the admin token, and with a tenant token', async (method, path, body) => {
    const none = await http(u, method, path, body === undefined ? {} : { body });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHORIZED');
    const tenant = await http(u, method, path, { token: alpha.token, ...(body === undefined ? {} : { body }) });
    expect(tenant.status).toBe(401);
    expect(tenant.body.code).toBe('UNAUTHORIZED');
  });

  it('rolled nothing back meanwhile', async () => {
    expect(await schemaVersion('mig-alpha')).toBe(LATEST);
  });
});

describe('GET /admin/migrations', () => {
  it('reports every tenant up to date', async () => {
    const res = await http(u, 'GET', '/admin/migrations', admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      latest: LATEST,
      migrations: ['0001_create_posts', LATEST],
      versions: [{ version: LATEST, tenants: 3 }],
      pending: 0,
      migrating: 0,
      failed: [],
    });
  });
});

describe('POST /admin/migrations', () => {
  it('with nothing pending: 200 ok, every tenant up-to-date', async () => {
    const res = await http(u, 'POST', '/admin/migrations', admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      latest: LATEST,
      durationMs: expect.any(Number),
      counts: { migrated: 0, 'up-to-date': 3, pending: 0, failed: 0, skipped: 0, 'rolled-back': 0 },
      results: [alpha, beta, gamma].map(({ tenant }) => ({
        tenant: { id: tenant.id, slug: tenant.slug },
        status: 'up-to-date',
        applied: [],
        error: null,
        durationMs: expect.any(Number),
      })),
    });
  });

  it('a dry run with nothing pending says so, and changes nothing', async () => {
    const res = await http(u, 'POST', '/admin/migrations', { ...admin, body: { dryRun: true, concurrency: 2, onError: 'continue' } });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['up-to-date', 'up-to-date', 'up-to-date']);
  });

  it('takes a tenants filter by slug or id', async () => {
    const res = await http(u, 'POST', '/admin/migrations', { ...admin, body: { tenants: ['mig-beta', gamma.tenant.id] } });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { tenant: { slug: string } }) => r.tenant.slug)).toEqual(['mig-beta', 'mig-gamma']);
  });

  it('answers 404 TENANT_NOT_FOUND for an unknown tenant in the filter, and runs nothing', async () => {
    const res = await http(u, 'POST', '/admin/migrations', { ...admin, body: { tenants: ['mig-alpha', 'nobody-here'] } });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, code: 'TENANT_NOT_FOUND', message: "no tenant 'nobody-here'" });
    const rollback = await http(u, 'POST', '/admin/migrations/rollback', { ...admin, body: { tenants: ['mig-alpha', 'nobody-here'] } });
    expect(rollback.status).toBe(404);
    expect(rollback.body.code).toBe('TENANT_NOT_FOUND');
    expect(await schemaVersion('mig-alpha')).toBe(LATEST);
  });

  const invalid: [string, string, Record<string, unknown>, string][] = [
    ['tenants not an array', '', { tenants: 'mig-alpha' }, 'tenants'],
    ['an empty tenants list', '', { tenants: [] }, 'tenants'],
    ['a malformed tenant', '', { tenants: ['mig-alpha', "x' or 1=1 --"] }, 'tenants'],
    ['a tenant that is not a string', '', { tenants: [42] }, 'tenants'],
    ['10 001 tenants', '', { tenants: Array.from({ length: 10_001 }, () => 'abc') }, 'tenants'],
    ['concurrency 0', '', { concurrency: 0 }, 'concurrency'],
    ['concurrency 65', '', { concurrency: 65 }, 'concurrency'],
    ['a fractional concurrency', '', { concurrency: 1.5 }, 'concurrency'],
    ['an unknown onError', '', { onError: 'explode' }, 'onError'],
    ['canary 0', '', { canary: 0 }, 'canary'],
    ['dryRun as a string', '', { dryRun: 'yes' }, 'dryRun'],
    ['an unknown field', '', { force: true }, 'force'],
    ['rollback steps 0', '/rollback', { steps: 0, tenants: ['mig-alpha'] }, 'steps'],
    ['rollback steps 1001', '/rollback', { steps: 1001, tenants: ['mig-alpha'] }, 'steps'],
    ['rollback steps as a string', '/rollback', { steps: '1', tenants: ['mig-alpha'] }, 'steps'],
    ['rollback with an empty tenants list', '/rollback', { tenants: [] }, 'tenants'],
    ['rollback with neither tenants nor all: true', '/rollback', {}, 'tenants'],
    ['rollback with all: false', '/rollback', { all: false, tenants: ['mig-alpha'] }, 'all'],
    ['rollback with all as a string', '/rollback', { all: 'true', tenants: ['mig-alpha'] }, 'all'],
    ['rollback with both tenants and all', '/rollback', { tenants: ['mig-alpha'], all: true }, 'all'],
    ['rollback concurrency 65', '/rollback', { concurrency: 65, tenants: ['mig-alpha'] }, 'concurrency'],
    ['rollback with dryRun (not an option of rollback)', '/rollback', { dryRun: true, tenants: ['mig-alpha'] }, 'dryRun'],
  ];
  it.each(invalid)('refuses %s with 400 VALIDATION_FAILED naming the field', async (_name, suffix, body, field) => {
    const res = await http(u, 'POST', `/admin/migrations${suffix}`, { ...admin, body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });
});

describe('rollback, then migrate again', () => {
  it('rolls back one step on one tenant: its schemaVersion goes back, the others stay', async () => {
    const res = await http(u, 'POST', '/admin/migrations/rollback', { ...admin, body: { steps: 1, tenants: ['mig-alpha'] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, latest: LATEST, counts: { 'rolled-back': 1, failed: 0 } });
    expect(res.body.results).toEqual([
      {
        tenant: { id: alpha.tenant.id, slug: 'mig-alpha' },
        status: 'rolled-back',
        applied: [LATEST],
        error: null,
        durationMs: expect.any(Number),
      },
    ]);
    expect(await schemaVersion('mig-alpha')).toBe('0001_create_posts');
    expect(await schemaVersion('mig-beta')).toBe(LATEST);
    // The users table is gone: the tenant API cannot create a user.
    expect(
      (
        await http(u, 'POST', '/users', {
          token: alpha.token,
          tenant: 'mig-alpha',
          body: { email: 'a@alpha.test', password: 'correct horse' },
        })
      ).status,
    ).not.toBe(201);
    const status = await http(u, 'GET', '/admin/migrations', admin);
    expect(status.body).toMatchObject({
      pending: 1,
      versions: [
        { version: '0001_create_posts', tenants: 1 },
        { version: LATEST, tenants: 2 },
      ],
      failed: [],
    });
    const activity = await http(u, 'GET', '/tenants/mig-alpha/activity', admin);
    expect(activity.body.at(-1)).toMatchObject({ action: 'rollback', actor: 'admin-api' });
  });

  it('a dry run lists what would be applied and applies nothing', async () => {
    const res = await http(u, 'POST', '/admin/migrations', { ...admin, body: { dryRun: true } });
    expect(res.status).toBe(200);
    const r = bySlug(res.body.results);
    expect(r['mig-alpha']).toMatchObject({ status: 'pending', applied: [LATEST], error: null });
    expect(r['mig-beta'].status).toBe('up-to-date');
    expect(res.body.counts).toMatchObject({ pending: 1, 'up-to-date': 2, migrated: 0 });
    expect(await schemaVersion('mig-alpha')).toBe('0001_create_posts');
  });

  it('migrating brings it back to the latest version, and the tenant works again', async () => {
    const res = await http(u, 'POST', '/admin/migrations', { ...admin, body: { canary: 1, concurrency: 2 } });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.counts).toMatchObject({ migrated: 1, 'up-to-date': 2, failed: 0 });
    expect(bySlug(res.body.results)['mig-alpha']).toMatchObject({ status: 'migrated', applied: [LATEST], error: null });
    expect(await schemaVersion('mig-alpha')).toBe(LATEST);
    expect(
      (
        await http(u, 'POST', '/users', {
          token: alpha.token,
          tenant: 'mig-alpha',
          body: { email: 'a@alpha.test', password: 'correct horse' },
        })
      ).status,
    ).toBe(201);
    expect((await http(u, 'GET', '/admin/migrations', admin)).body).toMatchObject({
      pending: 0,
      versions: [{ version: LATEST, tenants: 3 }],
    });
    const activity = await http(u, 'GET', '/tenants/mig-alpha/activity', admin);
    expect(activity.body.at(-1)).toMatchObject({ action: 'migrated', actor: 'admin-api' });
  });
});

describe('rolling back every tenant', () => {
  it('takes all: true (never a missing tenants list), then a migration brings every tenant back', async () => {
    const all = await http(u, 'POST', '/admin/migrations/rollback', { ...admin, body: { all: true } });
    expect(all.status).toBe(200);
    expect(all.body.counts).toMatchObject({ 'rolled-back': 3, failed: 0 });
    for (const slug of ['mig-alpha', 'mig-beta']) expect(await schemaVersion(slug)).toBe('0001_create_posts');
    const back = await http(u, 'POST', '/admin/migrations', { ...admin, body: {} });
    expect(back.status).toBe(200);
    expect(back.body.counts).toMatchObject({ migrated: 3, failed: 0 });
    for (const slug of ['mig-alpha', 'mig-beta']) expect(await schemaVersion(slug)).toBe(LATEST);
  });
});

describe('a run that fails', () => {
  it('answers 409 MIGRATION_FAILED with the summary: which tenant, why; the tenant is MIGRATION_FAILED (503, data intact) until fixed', async () => {
    // Beta's schema drifts: 0002 is rolled back and a stray `users` table takes its place.
    expect((await http(u, 'POST', '/admin/migrations/rollback', { ...admin, body: { tenants: ['mig-beta'] } })).status).toBe(200);
    const schema = h.admin.escapeIdentifier(beta.tenant.schema);
    await h.admin.query(`create table ${schema}.users (stray int)`);

    const res = await http(u, 'POST', '/admin/migrations', { ...admin, body: { onError: 'continue' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      statusCode: 409,
      code: 'MIGRATION_FAILED',
      message: "migration failed for 1 of 3 tenants (first: 'mig-beta', MIGRATION_FAILED); see results",
      ok: false,
      latest: LATEST,
      counts: { failed: 1, 'up-to-date': 2, migrated: 0 },
    });
    const failed = bySlug(res.body.results)['mig-beta'];
    expect(failed).toMatchObject({
      status: 'failed',
      applied: [],
      error: { code: 'MIGRATION_FAILED', message: expect.stringContaining('already exists') },
    });

    const status = await http(u, 'GET', '/admin/migrations', admin);
    expect(status.body.failed).toEqual([{ id: beta.tenant.id, slug: 'mig-beta', error: expect.stringContaining('already exists') }]);
    expect((await http(u, 'GET', '/tenants/mig-beta', admin)).body.status).toBe('MIGRATION_FAILED');
    // Its requests are told the truth: out of service, data intact — not 'retry in 5 seconds'.
    const refused = await http(u, 'GET', '/posts', { token: beta.token, tenant: 'mig-beta' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(refused.body).toMatchObject({ code: 'TENANT_MIGRATION_FAILED', message: expect.stringMatching(/data is intact/) });

    await h.admin.query(`drop table ${schema}.users`);
    const fixed = await http(u, 'POST', '/admin/migrations', { ...admin, body: { tenants: ['mig-beta'] } });
    expect(fixed.status).toBe(200);
    expect(fixed.body.results).toEqual([expect.objectContaining({ status: 'migrated', applied: [LATEST] })]);
    expect((await http(u, 'GET', '/tenants/mig-beta', admin)).body).toMatchObject({ status: 'ACTIVE', schemaVersion: LATEST });
    expect((await http(u, 'GET', '/admin/migrations', admin)).body).toMatchObject({ pending: 0, failed: [] });
  });
});
