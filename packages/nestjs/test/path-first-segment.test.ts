import { beforeAll, describe, expect, it } from 'vitest';
import { Controller, Get, Inject, Module, Param, Post, type DynamicModule } from '@nestjs/common';
import { currentTenant, type Tenancy, type Tenant } from '@tenantry/core';
import { CurrentTenant, header, path, SkipTenancy, TENANCY, TenancyModule, type TenantResolver } from '../dist/index.js';
import { syncFixture } from './fixtures/app.js';
import { call, callWithHost, MIGRATIONS, setupHarness, type Booted } from './helpers.js';

// Seed 003's routing: the tenant is the first path segment (`/:tenantSlug/...`, no `/t/` prefix),
// declared in the routes themselves (rewrite off), with routes that are nobody's excluded.

const h = await setupHarness();

@Controller(':tenantSlug/notes')
class TenantNotesController {
  constructor(@Inject(TENANCY) private readonly tenancy: Tenancy) {}

  /** The tenant three ways: the route's own parameter, the decorator, and a query in its schema. */
  @Get()
  async list(@Param('tenantSlug') param: string, @CurrentTenant() tenant: Tenant) {
    const schema = await this.tenancy.withTenant(async (db) => (await db.query<{ s: string }>('select current_schema() as s')).rows[0]!.s);
    return { param, slug: tenant.slug, context: currentTenant()?.slug ?? null, schema, expectedSchema: tenant.physicalName };
  }
}

@Controller('health')
@SkipTenancy()
class HealthController {
  @Get()
  health() {
    return { ok: true, tenant: currentTenant()?.slug ?? null };
  }
}

@Controller('auth')
@SkipTenancy()
class AuthController {
  @Post('login')
  login() {
    return { login: true, tenant: currentTenant()?.slug ?? null };
  }

  @Get('me/profile')
  profile() {
    return { profile: true, tenant: currentTenant()?.slug ?? null };
  }
}

/** Excluded from the path resolver but not `@SkipTenancy()`: it needs a tenant from the next resolver. */
@Controller('reports')
class ReportsController {
  @Get()
  reports(@CurrentTenant('slug') slug: string) {
    return { reports: true, tenant: slug };
  }
}

@Module({})
class FirstSegmentApp {}

const firstSegment = path({ prefix: '', rewrite: false, exclude: ['health', 'auth/*', 'reports'] });

function firstSegmentApp(): DynamicModule {
  return {
    module: FirstSegmentApp,
    imports: [TenancyModule.forRoot({ registryUrl: h.db.url, migrations: MIGRATIONS, resolvers: [firstSegment, header()] })],
    controllers: [TenantNotesController, HealthController, AuthController, ReportsController],
  };
}

let app: Booted;
let rewriting: Booted;
let tenancy: Tenancy;
let acme: Tenant;
let globex: Tenant;

beforeAll(async () => {
  app = await h.boot(firstSegmentApp());
  // The same form with the default rewrite: `/acme/whoami` is served by the fixture's `/whoami`.
  rewriting = await h.boot(
    syncFixture({ registryUrl: h.db.url, migrations: MIGRATIONS, resolvers: [path({ prefix: '', exclude: ['public', 'dropped'] })] }),
  );
  tenancy = app.app.get<Tenancy>(TENANCY);
  acme = await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
  globex = await tenancy.tenants.create({ slug: 'globex', name: 'Globex' });
});

/** A GET with the path sent byte for byte (fetch would normalise `..` and re-encode). */
const raw = (target: Booted, p: string, headers: Record<string, string> = {}) => callWithHost(target.port, p, '127.0.0.1', headers);

describe('path({ prefix: "" }): the tenant is the first path segment (seed 003)', () => {
  it('serves /:tenantSlug/... in that tenant: route parameter, @CurrentTenant, context and schema agree', async () => {
    for (const t of [acme, globex]) {
      const res = await call(`${app.url}/${t.slug}/notes?x=1`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ param: t.slug, slug: t.slug, context: t.slug, schema: t.physicalName, expectedSchema: t.physicalName });
    }
    // By id too, and percent-encoded: decoded as Express decodes the route parameter.
    expect((await call(`${app.url}/${globex.id}/notes`)).body.slug).toBe('globex');
    expect((await raw(app, '/%61cme/notes')).body).toMatchObject({ param: 'acme', slug: 'acme' });
    // The path wins over a header naming another tenant: the header resolver is not reached.
    expect((await call(`${app.url}/acme/notes`, { headers: { 'x-tenant-id': 'globex' } })).body.slug).toBe('acme');
  });

  it('an unknown slug is 404 TENANT_NOT_FOUND saying that the first segment names the tenant', async () => {
    const res = await call(`${app.url}/initech/notes`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      statusCode: 404,
      code: 'TENANT_NOT_FOUND',
      message: "no tenant 'initech' (the first segment of the path names the tenant: /<tenant>/…)",
    });
    // A path that is no route stays Nest's 404: the tenant error is only for routes that need one.
    expect(await call(`${app.url}/initech/nothing-here`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await call(`${app.url}/acme/nothing-here`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('hostile first segments are 400 INVALID_TENANT_ID and reach no tenant', async () => {
    for (const segment of [
      'ACME', // slugs are lowercase: no case folding onto another tenant
      "acme'--",
      'acme%27%3B%20drop%20table%20notes%3B--',
      '..',
      '%2e%2e',
      'acme%2Fglobex',
      'acme%00',
      '%3Cscript%3E',
      'pg_catalog',
      't_00000000000000000000000000000000',
      'a'.repeat(64),
      '%E2%80%AEacme',
    ]) {
      const res = await raw(app, `/${segment}/notes`);
      expect(res.status, segment).toBe(400);
      expect(res.body.code, segment).toBe('INVALID_TENANT_ID');
    }
    // Not decodable: Express refuses the route parameter itself (400), and the resolver would too.
    const broken = await raw(app, '/%E0%A4%A/notes');
    expect(broken).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    await expect(firstSegment({ headers: {}, url: '/%E0%A4%A/notes' }, tenancy)).rejects.toMatchObject({
      code: 'INVALID_TENANT_ID',
      message: 'the tenant segment of the path is not valid percent-encoding',
    });
  });

  it("excluded routes are nobody's: health, the whole auth/* subtree, in any case and with a trailing slash", async () => {
    for (const p of ['/health', '/health/', '/HEALTH', '/Health?probe=1']) {
      const res = await raw(app, p);
      expect(res.status, p).toBe(200);
      expect(res.body, p).toEqual({ ok: true, tenant: null });
    }
    expect(await call(`${app.url}/auth/login`, { method: 'POST' })).toMatchObject({ status: 201, body: { login: true, tenant: null } });
    expect(await call(`${app.url}/auth/me/profile`)).toMatchObject({ status: 200, body: { profile: true, tenant: null } });
    // Not a tenant named "auth": an unknown auth route is Nest's 404, not TENANT_NOT_FOUND.
    expect(await call(`${app.url}/auth/nothing`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    // "health" is excluded exactly: /health/x is read as tenant "health" (and there is none).
    const deeper = await call(`${app.url}/health/notes`);
    expect(deeper).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
  });

  it('on an excluded path the next resolver decides, and a route that needs a tenant says where it looked', async () => {
    expect(await call(`${app.url}/reports`, { headers: { 'x-tenant-id': 'globex' } })).toMatchObject({
      status: 200,
      body: { reports: true, tenant: 'globex' },
    });
    // The health route gets the header's tenant too (it is @SkipTenancy, not tenant-less).
    expect((await call(`${app.url}/health`, { headers: { 'x-tenant-id': 'acme' } })).body.tenant).toBe('acme');
    const missing = await call(`${app.url}/reports`);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      statusCode: 400,
      code: 'TENANT_REQUIRED',
      message: 'Tenant ID is missing in x-tenant-id header (also looked in: path /:tenant)',
    });
  });

  it('a suspended tenant in the path is 403 TENANT_SUSPENDED; resumed, it is served again', async () => {
    await tenancy.tenants.suspend('globex');
    expect(await call(`${app.url}/globex/notes`)).toMatchObject({ status: 403, body: { code: 'TENANT_SUSPENDED' } });
    await tenancy.tenants.resume('globex');
    expect((await call(`${app.url}/globex/notes`)).status).toBe(200);
  });

  it('with rewrite on (the default), /acme/whoami is served by the /whoami route in tenant acme', async () => {
    const res = await call(`${rewriting.url}/acme/whoami?x=1`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ slug: 'acme', schema: acme.physicalName });
    expect(Object.values(res.body.seen)).toEqual(Array(Object.keys(res.body.seen).length).fill('acme'));
    // An excluded path is routed as it is, without a tenant.
    expect((await call(`${rewriting.url}/public`)).body).toMatchObject({ tenant: null });
    // The tenant's own /public: the rewrite makes it /public, in that tenant.
    expect((await call(`${rewriting.url}/globex/public`)).body).toMatchObject({ tenant: 'globex' });
    expect(await call(`${rewriting.url}/initech/whoami`)).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    // Without a tenant segment, /whoami is tenant "whoami" at "/": no route there.
    expect(await call(`${rewriting.url}/whoami`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });
});

describe('path() options and matching, resolver called directly', () => {
  const req = (url: string) => ({ headers: {}, url });
  const resolve = (resolver: TenantResolver, url: string) => resolver(req(url), tenancy);

  it('matches exclusions segment by segment: no prefix match inside a segment', async () => {
    const r = path({ prefix: '', rewrite: false, exclude: ['auth/*', 'health', 'api/v1/status'] });
    for (const url of ['/auth', '/auth/', '/AUTH/x/y', '/health', '/health/?x=1', '/api/v1/status', '/api/v1/status/', '/', '']) {
      expect(await resolve(r, url), url).toBeUndefined();
    }
    // "authors" is not under "auth", "healthy" is not "health": read as tenants (unknown here).
    for (const url of ['/authors/x', '/healthy', '/api/v1/statuses']) {
      await expect(resolve(r, url), url).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    }
    expect(await resolve(r, '/acme/anything')).toMatchObject({ slug: 'acme' });
  });

  it('accepts the wildcard forms of NestJS 10 and 11 as a trailing segment', async () => {
    for (const wildcard of ['auth/*', 'auth/(.*)', 'auth/{*path}', '/auth/*/']) {
      expect(await resolve(path({ prefix: '', exclude: [wildcard] }), '/auth/login'), wildcard).toBeUndefined();
    }
  });

  it('with a prefix, exclusions are matched after it, and the message names the prefix', async () => {
    const r = path({ prefix: 'api', rewrite: false, exclude: ['health'] });
    expect(await resolve(r, '/api/health')).toBeUndefined();
    expect(await resolve(r, '/health')).toBeUndefined();
    expect(await resolve(r, '/api/globex/x')).toMatchObject({ slug: 'globex' });
    await expect(resolve(r, '/api/initech/x')).rejects.toThrow("no tenant 'initech' (the path /api/<tenant>/… names the tenant)");
    expect(r.description).toBe('path /api/:tenant');
  });

  it('rejects unusable options up front with INVALID_ARGUMENT', () => {
    for (const exclude of [['*'], ['a/*/b'], ['../x'], [''], ['auth/**'], ['he alth'], [42]]) {
      expect(() => path({ prefix: '', exclude: exclude as string[] }), JSON.stringify(exclude)).toThrow(/path\(\{ exclude \}\)/);
    }
    expect(() => path({ prefix: '', exclude: 'health' as unknown as string[] })).toThrow(/array of route paths/);
    expect(() => path({ prefix: 5 as unknown as string })).toThrow(/URL path segments/);
    expect(() => path({ prefix: 'a/../b' })).toThrow(/URL path segments/);
    expect(path({ prefix: '/' }).description).toBe('path /:tenant');
  });
});
