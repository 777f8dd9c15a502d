import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenancy, Tenant } from '@tenantry/core';
import { domain, header, jwtClaim, path, query, subdomain, TENANCY, type TenantResolver } from '../dist/index.js';
import { syncFixture } from './fixtures/app.js';
import { call, callWithHost, MIGRATIONS, setupHarness, type Booted } from './helpers.js';

const h = await setupHarness();
const KEY = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!');
const OTHER_KEY = new TextEncoder().encode('another-secret-of-at-least-32-bytes!');

/** A custom resolver: a plain function of the request (here an alias header, async). */
const alias: TenantResolver = async (req) => {
  const value = req.headers['x-alias'];
  return value === 'the-acme-alias' ? 'acme' : undefined;
};

let booted: Booted;
let acme: Tenant;
let globex: Tenant;

async function token(claims: Record<string, unknown>, key = KEY, expiresIn = '5m'): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('test')
    .setAudience('fixture')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

function unsignedToken(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ ...claims, iss: 'test', aud: 'fixture', exp: Math.floor(Date.now() / 1000) + 300 })}.`;
}

beforeAll(async () => {
  booted = await h.boot(
    syncFixture({
      registryUrl: h.db.url,
      migrations: MIGRATIONS,
      resolvers: [
        path(),
        header(),
        query('tenant'),
        subdomain('example.test'),
        domain(),
        jwtClaim('tid', { key: KEY, algorithms: ['HS256'], issuer: 'test', audience: 'fixture' }),
        alias,
      ],
    }),
  );
  const tenancy = booted.app.get<Tenancy>(TENANCY);
  acme = await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
  globex = await tenancy.tenants.create({ slug: 'globex', name: 'Globex' });
  await tenancy.tenants.addDomain('globex', 'app.globex.test');
});

async function whoami(init: RequestInit = {}, suffix = '/whoami') {
  return await call(`${booted.url}${suffix}`, init);
}

describe('resolver chain', () => {
  it('header: x-tenant-id by slug, by id, and by an uppercase id', async () => {
    expect((await whoami({ headers: { 'x-tenant-id': 'acme' } })).body.slug).toBe('acme');
    expect((await whoami({ headers: { 'x-tenant-id': globex.id } })).body.slug).toBe('globex');
    expect((await whoami({ headers: { 'x-tenant-id': acme.id.toUpperCase() } })).body.slug).toBe('acme');
  });

  it('header: a malformed value is 400 INVALID_TENANT_ID, an unknown one 404 TENANT_NOT_FOUND', async () => {
    const bad = await whoami({ headers: { 'x-tenant-id': "acme'; drop table x" } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_TENANT_ID');
    const unknown = await whoami({ headers: { 'x-tenant-id': 'initech' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ statusCode: 404, code: 'TENANT_NOT_FOUND', message: "no tenant 'initech'" });
  });

  it('path: /t/:slug/... reaches the route without the prefix, query string kept', async () => {
    const res = await whoami({}, '/t/globex/whoami?x=1');
    expect(res.status).toBe(200);
    expect(res.body.slug).toBe('globex');
    // First in the chain: it wins over a header naming another tenant.
    expect((await whoami({ headers: { 'x-tenant-id': 'acme' } }, '/t/globex/whoami')).body.slug).toBe('globex');
    expect((await whoami({}, '/t/nobody-here/whoami')).status).toBe(404);
  });

  it('query: ?tenant=slug, and a repeated parameter is rejected', async () => {
    expect((await whoami({}, '/whoami?tenant=acme')).body.slug).toBe('acme');
    const twice = await whoami({}, '/whoami?tenant=acme&tenant=globex');
    expect(twice.status).toBe(400);
    expect(twice.body.code).toBe('INVALID_TENANT_ID');
  });

  it('subdomain: <slug>.example.test, but not www, the bare base or deeper hosts', async () => {
    expect((await callWithHost(booted.port, '/whoami', 'acme.example.test')).body.slug).toBe('acme');
    expect((await callWithHost(booted.port, '/whoami', 'GLOBEX.example.test:8080')).body.slug).toBe('globex');
    for (const host of ['www.example.test', 'example.test', 'a.acme.example.test', 'acme.example.other']) {
      const res = await callWithHost(booted.port, '/whoami', host);
      expect(res.status, host).toBe(400);
      expect(res.body.code, host).toBe('TENANT_REQUIRED');
    }
  });

  it('domain: a custom domain registered in the registry', async () => {
    expect((await callWithHost(booted.port, '/whoami', 'app.globex.test')).body.slug).toBe('globex');
    expect((await callWithHost(booted.port, '/whoami', 'unknown.globex.test')).body.code).toBe('TENANT_REQUIRED');
    const tenancy = booted.app.get<Tenancy>(TENANCY);
    await tenancy.tenants.removeDomain('globex', 'app.globex.test');
    expect((await callWithHost(booted.port, '/whoami', 'app.globex.test')).body.code).toBe('TENANT_REQUIRED');
    await tenancy.tenants.addDomain('globex', 'app.globex.test');
  });

  it('jwtClaim: the tenant of a verified token only', async () => {
    const ok = await whoami({ headers: { authorization: `Bearer ${await token({ tid: acme.id })}` } });
    expect(ok.status).toBe(200);
    expect(ok.body.slug).toBe('acme');
    for (const [what, t] of [
      ['forged', await token({ tid: acme.id }, OTHER_KEY)],
      ['alg none', unsignedToken({ tid: acme.id })],
      ['expired', await token({ tid: acme.id }, KEY, '-1m')],
      ['garbage', 'not.a.jwt'],
    ] as const) {
      const res = await whoami({ headers: { authorization: `Bearer ${t}` } });
      expect(res.status, what).toBe(401);
      expect(res.body, what).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: 'the bearer token is invalid or expired' });
    }
    // A valid token without the claim leaves the decision to the next resolver.
    const noClaim = await whoami({ headers: { authorization: `Bearer ${await token({ sub: 'x' })}`, 'x-alias': 'the-acme-alias' } });
    expect(noClaim.body.slug).toBe('acme');
  });

  it('custom resolver: a plain (async) function', async () => {
    expect((await whoami({ headers: { 'x-alias': 'the-acme-alias' } })).body.slug).toBe('acme');
  });

  it('tries resolvers in order and says where it looked when none matched', async () => {
    // header comes before query.
    expect((await whoami({ headers: { 'x-tenant-id': 'globex' } }, '/whoami?tenant=acme')).body.slug).toBe('globex');
    const none = await whoami();
    expect(none.status).toBe(400);
    expect(none.body).toEqual({
      statusCode: 400,
      code: 'TENANT_REQUIRED',
      message:
        'Tenant ID is missing in x-tenant-id header (also looked in: path /t/:tenant, query parameter tenant, subdomain of example.test, custom domain, verified JWT claim tid, resolver alias)',
    });
  });

  it('rejects unusable resolver options up front', () => {
    expect(() => subdomain('not a domain')).toThrow(/host name/);
    expect(() => path({ prefix: '../x' })).toThrow(/URL path segments/);
    expect(() => jwtClaim('tid', { key: KEY, algorithms: [] })).toThrow(/algorithms/);
    expect(() => jwtClaim('tid', { key: KEY, algorithms: ['none'] })).toThrow(/never accepted/);
  });
});
