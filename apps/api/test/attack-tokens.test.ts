import 'reflect-metadata';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Controller, Get, Inject, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenancy, Tenant } from '@tenantry/core';
import { CurrentTenant, jwtClaim, query, TENANCY, TenancyModule, type TenantResolver } from '@tenantry/nestjs';
import { HOSTILE_STRINGS, describeHostile } from '@tenantry/testing';
import { MIGRATIONS_DIR } from '../dist/app.module.js';
import { ADMIN_TOKEN, getWithHost, http, JWT_SECRET, setupApi, type Reply } from './helpers.js';

/**
 * Tokens and the requests that carry them: what apps/api/test/auth.test.ts and admin.test.ts
 * do not already cover. A token of tenant A replayed on tenant B through every resolver; the
 * algorithm, header and claim tricks; garbage Authorization headers; tokens that outlive their
 * tenant; every admin route without the admin token. Then two fixture applications: one whose
 * only resolver is a verified JWT claim (an x-tenant-id header must be ignored), one that reads
 * the tenant from a query parameter (the hostile corpus through it).
 */
const h = await setupApi();
const api = await h.start({ TENANTRY_BASE_DOMAIN: 'example.test' });
const u = api.url;
const key = new TextEncoder().encode(JWT_SECRET);
const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface T {
  readonly id: string;
  readonly slug: string;
  readonly schema: string;
  readonly token: string;
}
let a: T;
let b: T;

async function tenant(slug: string): Promise<T> {
  const created = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: slug, slug } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const issued = await http(u, 'POST', `/tenants/${created.body.id}/tokens`, { token: ADMIN_TOKEN, body: {} });
  return { ...created.body, token: issued.body.token };
}

function sign(
  claims: Record<string, unknown>,
  o: { alg?: string; header?: Record<string, unknown>; exp?: number; iss?: string; aud?: string | string[]; nbf?: number } = {},
): Promise<string> {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: o.alg ?? 'HS256', ...o.header })
    .setIssuer(o.iss ?? 'tenantry-api')
    .setAudience(o.aud ?? 'tenantry-api:tenant')
    .setSubject('attacker')
    .setIssuedAt()
    .setExpirationTime(o.exp ?? now() + 300);
  if (o.nbf !== undefined) jwt = jwt.setNotBefore(o.nbf);
  return jwt.sign(key);
}

/** A GET with exactly these headers (several Authorization lines, odd Host…), through node:http. */
function getRaw(path: string, headers: [string, string][]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: api.port,
        path,
        method: 'GET',
        headers: [['host', '127.0.0.1'], ...headers].flat() as unknown as Record<string, string>,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: new Headers(), body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  a = await tenant('tok-a');
  b = await tenant('tok-b');
  expect((await http(u, 'POST', `/tenants/${b.id}/domains`, { token: ADMIN_TOKEN, body: { domain: 'b.attack.test' } })).status).toBe(201);
  expect((await http(u, 'POST', '/posts', { tenant: b.slug, token: b.token, body: { title: 'b-secret', content: '' } })).status).toBe(201);
});

const bPosts = async () =>
  (await h.admin.query<{ title: string }>(`select title from "${b.schema}".posts order by title`)).rows.map((r) => r.title);

describe("tenant A's token on tenant B", () => {
  it('is 403 TENANT_MISMATCH through every resolver — header by slug, id and uppercase id, path, subdomain, custom domain — and writes nothing', async () => {
    const replies = [
      await http(u, 'GET', '/posts', { tenant: b.slug, token: a.token }),
      await http(u, 'GET', '/posts', { tenant: b.id, token: a.token }),
      await http(u, 'GET', '/posts', { tenant: b.id.toUpperCase(), token: a.token }),
      await http(u, 'GET', `/t/${b.slug}/posts`, { token: a.token }),
      await http(u, 'GET', `/t/${b.id}/posts`, { token: a.token }),
      await getWithHost(api.port, '/posts', `${b.slug}.example.test`, { authorization: `Bearer ${a.token}` }),
      await getWithHost(api.port, '/posts', 'B.Attack.Test.', { authorization: `Bearer ${a.token}` }),
      await http(u, 'POST', '/posts', { tenant: b.slug, token: a.token, body: { title: 'planted', content: '' } }),
      await http(u, 'POST', `/t/${b.slug}/users`, { token: a.token, body: { email: 'eve@b.test', password: 'password123' } }),
      await http(u, 'DELETE', `/t/${b.slug}/posts/00000000-0000-4000-8000-000000000000`, { token: a.token }),
    ];
    for (const [i, r] of replies.entries()) {
      expect(r.status, `reply ${i}`).toBe(403);
      expect(r.body.code, `reply ${i}`).toBe('TENANT_MISMATCH');
    }
    // Path first: /t/<B> wins over a header naming A, so the token still does not match.
    expect((await http(u, 'GET', `/t/${b.slug}/posts`, { tenant: a.slug, token: a.token })).body.code).toBe('TENANT_MISMATCH');
    expect(await bPosts()).toEqual(['b-secret']);
    const { rows } = await h.admin.query<{ n: number }>(`select count(*)::int as n from "${b.schema}".users`);
    expect(rows[0]!.n).toBe(0);
  });
});

describe('forged and malformed tokens', () => {
  it('algorithm tricks: alg none in any case, HS384/HS512 with the right key, RS256/ES256 headers over an HMAC, unknown crit', async () => {
    const claims = { tid: a.id, sub: 'x', iss: 'tenantry-api', aud: 'tenantry-api:tenant', iat: now(), exp: now() + 300 };
    const hmacWithHeader = (header: object) => {
      const signing = `${part(header)}.${part(claims)}`;
      return `${signing}.${createHmacB64(signing)}`;
    };
    const cases: [string, string][] = [
      ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, string] => [`alg ${alg}`, `${part({ alg, typ: 'JWT' })}.${part(claims)}.`]),
      ['alg none with a signature', `${part({ alg: 'none' })}.${part(claims)}.${createHmacB64('x')}`],
      ['HS384 with the key', await sign({ tid: a.id }, { alg: 'HS384' })],
      ['HS512 with the key', await sign({ tid: a.id }, { alg: 'HS512' })],
      ['RS256 header, HMAC signature (key confusion)', hmacWithHeader({ alg: 'RS256', typ: 'JWT' })],
      ['ES256 header, HMAC signature', hmacWithHeader({ alg: 'ES256', typ: 'JWT' })],
      ['unknown critical header', hmacWithHeader({ alg: 'HS256', crit: ['x-tenantry'], 'x-tenantry': 1 })],
      ['b64: false', hmacWithHeader({ alg: 'HS256', b64: false, crit: ['b64'] })],
      ['no alg', hmacWithHeader({ typ: 'JWT' })],
      ['JWE-shaped (5 parts)', `${part({ alg: 'dir', enc: 'A256GCM' })}..${part({})}.${part(claims)}.${part({})}`],
    ];
    for (const [what, token] of cases) {
      const res = await http(u, 'GET', '/posts', { tenant: a.slug, token });
      expect(res.status, what).toBe(401);
      expect(res.body.code, what).toBe('UNAUTHORIZED');
    }
  });

  it('claim tricks: not yet valid, expired beyond the 5 s tolerance, tid of the wrong type, string exp, foreign audience list', async () => {
    const cases: [string, string][] = [
      ['nbf in an hour', await sign({ tid: a.id }, { nbf: now() + 3600 })],
      ['expired 30 s ago', await sign({ tid: a.id }, { exp: now() - 30 })],
      ['tid a number', await sign({ tid: 42 })],
      ['tid an array', await sign({ tid: [a.id] })],
      ['tid an object', await sign({ tid: { id: a.id } })],
      ['tid null', await sign({ tid: null })],
      ['audience of another service', await sign({ tid: a.id }, { aud: ['other-service'] })],
      ['issuer with a trailing space', await sign({ tid: a.id }, { iss: 'tenantry-api ' })],
      [
        'exp a string',
        `${part({ alg: 'HS256' })}.${part({ tid: a.id, sub: 'x', iss: 'tenantry-api', aud: 'tenantry-api:tenant', exp: String(now() + 300) })}`,
      ],
    ];
    for (const [what, token0] of cases) {
      let token = token0;
      if (token.split('.').length === 2) token = `${token}.${createHmacB64(token)}`;
      const res = await http(u, 'GET', '/posts', { tenant: a.slug, token });
      expect(res.status, what).toBe(401);
      expect(res.body.code, what).toBe('UNAUTHORIZED');
    }
    // A tid that is A's id in upper case names the same tenant, yet is not the id the token was issued for.
    const upper = await http(u, 'GET', '/posts', { tenant: a.slug, token: await sign({ tid: a.id.toUpperCase() }) });
    expect(upper.body.code).toBe('TENANT_MISMATCH');
  });

  it('garbage Authorization headers: 401 UNAUTHORIZED, whatever the garbage', async () => {
    const values = [
      'Bearer',
      'Bearer ',
      'Bearer a',
      'Bearer a.b',
      'Bearer a.b.c',
      'Bearer ...',
      'Bearer ..',
      `Bearer ${a.token}x`,
      `Bearer ${a.token.slice(0, -1)}`,
      `Bearer ${a.token} ${a.token}`,
      `Bearer ${a.token},${a.token}`,
      `Basic ${Buffer.from(`tok-a:${a.token}`).toString('base64')}`,
      `Token ${a.token}`,
      a.token,
      `Bearer ${'A'.repeat(8000)}`,
      `Bearer ${a.token.split('.').reverse().join('.')}`,
      `Bearer ${a.token.replace(/\./g, '..')}`,
      `Bearer ${Buffer.from(a.token).toString('base64')}`,
      `Bearer ${encodeURIComponent(a.token)}%00`,
      `Bearer ${a.token.split('.').slice(0, 2).join('.')}.`,
      'Bearer eyJhbGciOiJIUzI1NiJ9.e30.',
    ];
    for (const value of values) {
      const res = await getRaw('/posts', [
        ['x-tenant-id', a.slug],
        ['authorization', value],
      ]);
      expect(res.status, `${describeHostile(value)} ${JSON.stringify(res.body)}`).toBe(401);
      expect(res.body.code, describeHostile(value)).toBe('UNAUTHORIZED');
    }
    // Two Authorization headers: Node keeps the first; a bad first one is refused.
    const two = await getRaw('/posts', [
      ['x-tenant-id', a.slug],
      ['authorization', 'Bearer garbage'],
      ['authorization', `Bearer ${a.token}`],
    ]);
    expect(two.status).toBe(401);
    // The token only counts in the Authorization header.
    for (const res of [
      await http(u, 'GET', `/posts?access_token=${a.token}`, { tenant: a.slug }),
      await http(u, 'GET', '/posts', { tenant: a.slug, headers: { cookie: `token=${a.token}`, 'x-access-token': a.token } }),
    ]) {
      expect(res.status).toBe(401);
    }
  });

  it('a token outlives nothing: suspended tenant 403, deleted tenant 404, a new tenant with the same slug 403 TENANT_MISMATCH', async () => {
    const c = await tenant('tok-c');
    expect((await http(u, 'GET', '/posts', { tenant: c.slug, token: c.token })).status).toBe(200);
    await http(u, 'POST', `/tenants/${c.id}/suspend`, { token: ADMIN_TOKEN, body: {} });
    const suspended = await http(u, 'GET', '/posts', { tenant: c.slug, token: c.token });
    expect([suspended.status, suspended.body.code]).toEqual([403, 'TENANT_SUSPENDED']);
    await http(u, 'POST', `/tenants/${c.id}/resume`, { token: ADMIN_TOKEN, body: {} });
    expect((await http(u, 'DELETE', `/tenants/${c.id}`, { token: ADMIN_TOKEN })).status).toBe(200);
    const deleted = await http(u, 'GET', '/posts', { tenant: c.slug, token: c.token });
    expect([deleted.status, deleted.body.code]).toEqual([404, 'TENANT_NOT_FOUND']);
    const byId = await http(u, 'GET', '/posts', { tenant: c.id, token: c.token });
    expect([byId.status, byId.body.code]).toEqual([404, 'TENANT_NOT_FOUND']);
    const again = await tenant('tok-c');
    expect(again.id).not.toBe(c.id);
    const reused = await http(u, 'GET', '/posts', { tenant: 'tok-c', token: c.token });
    expect([reused.status, reused.body.code]).toEqual([403, 'TENANT_MISMATCH']);
    // A token for the deleted tenant cannot be issued either.
    const issue = await http(u, 'POST', `/tenants/${c.id}/tokens`, { token: ADMIN_TOKEN, body: {} });
    expect(issue.status).toBe(404);
  });
});

describe('admin routes', () => {
  it('every admin route refuses no token, near-miss tokens, the stored hash, a tenant token and other carriers with 401 — and changes nothing', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/tenants'],
      ['POST', '/tenants', { name: 'Evil', slug: 'evil' }],
      ['GET', `/tenants/${a.id}`],
      ['PATCH', `/tenants/${a.id}`, { name: 'Pwned' }],
      ['POST', `/tenants/${a.id}/suspend`, {}],
      ['POST', `/tenants/${a.id}/resume`, {}],
      ['DELETE', `/tenants/${a.id}`],
      ['GET', `/tenants/${a.id}/activity`],
      ['GET', `/tenants/${a.id}/domains`],
      ['POST', `/tenants/${a.id}/domains`, { domain: 'evil.example' }],
      ['DELETE', `/tenants/${b.id}/domains/b.attack.test`],
      ['POST', `/tenants/${a.id}/tokens`, {}],
    ];
    const stored = createHash('sha256').update(ADMIN_TOKEN).digest('hex');
    const tokens: (string | undefined)[] = [
      undefined,
      '',
      ADMIN_TOKEN.slice(0, -1),
      `${ADMIN_TOKEN}x`,
      ADMIN_TOKEN.toUpperCase(),
      Buffer.from(ADMIN_TOKEN.replace(/-/g, '\u2010'), 'utf8').toString('latin1'), // Unicode hyphens, as UTF-8 bytes
      stored,
      a.token,
      await sign({ tid: a.id, admin: true }),
    ];
    let checked = 0;
    for (const [method, path, body] of routes) {
      for (const token of tokens) {
        const res = await http(u, method, path, { ...(token === undefined ? {} : { token }), ...(body === undefined ? {} : { body }) });
        expect(res.status, `${method} ${path} with ${token === undefined ? 'no token' : describeHostile(token)}`).toBe(401);
        expect(res.body.code).toBe('UNAUTHORIZED');
        checked++;
      }
      for (const res of [
        await http(u, method, `${path}${path.includes('?') ? '&' : '?'}token=${ADMIN_TOKEN}`, body === undefined ? {} : { body }),
        await http(u, method, path, {
          headers: { 'x-admin-token': ADMIN_TOKEN, cookie: `admin=${ADMIN_TOKEN}` },
          ...(body === undefined ? {} : { body }),
        }),
        await http(u, method, path, {
          headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
          ...(body === undefined ? {} : { body }),
        }),
      ]) {
        expect(res.status, `${method} ${path}`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBe(routes.length * (tokens.length + 3));
    const { rows } = await h.admin.query<{ slug: string; name: string; status: string }>(
      'select slug, name, status from tenantry.tenants where slug in ($1, $2, $3) order by slug',
      [a.slug, b.slug, 'evil'],
    );
    expect(rows).toEqual([
      { slug: a.slug, name: a.slug, status: 'ACTIVE' },
      { slug: b.slug, name: b.slug, status: 'ACTIVE' },
    ]);
    expect((await http(u, 'GET', `/tenants/${b.id}/domains`, { token: ADMIN_TOKEN })).body).toEqual({ domains: ['b.attack.test'] });
  });
});

// ——— fixture applications: the resolvers on their own ———

// Decorators applied as plain calls: this folder has no tsconfig with experimentalDecorators,
// so the test transform would not accept the decorator syntax.
class WhoAmIController {
  constructor(private readonly tenancy: Tenancy) {}

  async whoami(tenant: Tenant) {
    const titles = await this.tenancy.withTenant(async (db) =>
      (await db.query<{ title: string }>('select title from posts order by title')).rows.map((r) => r.title),
    );
    return { slug: tenant.slug, titles };
  }
}
Inject(TENANCY)(WhoAmIController, undefined as never, 0);
Get('whoami')(WhoAmIController.prototype, 'whoami', Object.getOwnPropertyDescriptor(WhoAmIController.prototype, 'whoami')!);
CurrentTenant()(WhoAmIController.prototype, 'whoami', 0);
Controller()(WhoAmIController);

class FixtureModule {}
Module({})(FixtureModule);

function fixture(resolvers: TenantResolver[]): DynamicModule {
  return {
    module: FixtureModule,
    imports: [
      TenancyModule.forRoot({
        registryUrl: h.db.url,
        migrations: MIGRATIONS_DIR,
        listen: false,
        reconcileOnStart: false,
        applicationName: 'attack-fixture',
        resolvers,
      }),
    ],
    controllers: [WhoAmIController],
  };
}

const apps: INestApplication[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

async function boot(resolvers: TenantResolver[]): Promise<{ url: string; port: number }> {
  const app = await NestFactory.create(fixture(resolvers), { logger: false, abortOnError: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port };
}

describe('header spoofing when the only resolver is a verified JWT claim', () => {
  it("ignores x-tenant-id, /t/:slug, Host and ?tenant= naming another tenant: the token's tenant it is", async () => {
    const f = await boot([jwtClaim('tid', { key, algorithms: ['HS256'], issuer: 'tenantry-api', audience: 'tenantry-api:tenant' })]);
    const as = { authorization: `Bearer ${a.token}` };
    const seen = [
      await http(f.url, 'GET', '/whoami', { headers: { ...as, 'x-tenant-id': b.slug } }),
      await http(f.url, 'GET', '/whoami', { headers: { ...as, 'x-tenant-id': b.id, 'x-forwarded-host': `${b.slug}.example.test` } }),
      await http(f.url, 'GET', `/whoami?tenant=${b.slug}`, { headers: as }),
      await getWithHost(f.port, '/whoami', `${b.slug}.example.test`, as),
      await getWithHost(f.port, '/whoami', 'b.attack.test', as),
    ];
    for (const [i, r] of seen.entries()) expect(r.body, `request ${i}`).toEqual({ slug: a.slug, titles: [] });
    // The path resolver is not in the chain: /t/<B>/whoami is just an unknown route.
    expect((await http(f.url, 'GET', `/t/${b.slug}/whoami`, { headers: as })).status).toBe(404);
    // Without a token the header is still not a way in.
    const bare = await http(f.url, 'GET', '/whoami', { headers: { 'x-tenant-id': b.slug } });
    expect([bare.status, bare.body.code]).toEqual([400, 'TENANT_REQUIRED']);
    // Forged and unsigned tokens naming B: 401, never B.
    const forged = await new SignJWT({ tid: b.id })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('tenantry-api')
      .setAudience('tenantry-api:tenant')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('x'.repeat(48)));
    const unsigned = `${part({ alg: 'none' })}.${part({ tid: b.id, iss: 'tenantry-api', aud: 'tenantry-api:tenant', exp: now() + 300 })}.`;
    for (const token of [forged, unsigned]) {
      const res = await http(f.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${token}`, 'x-tenant-id': b.slug } });
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHORIZED']);
    }
    // B's own token reaches B.
    expect((await http(f.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${b.token}` } })).body).toEqual({
      slug: b.slug,
      titles: ['b-secret'],
    });
  });

  it(`a verified token whose tid is one of the ${HOSTILE_STRINGS.length} hostile strings: 400/404 with a stable code`, async () => {
    const f = await boot([jwtClaim('tid', { key, algorithms: ['HS256'], issuer: 'tenantry-api', audience: 'tenantry-api:tenant' })]);
    const bad: string[] = [];
    await Promise.all(
      chunks(HOSTILE_STRINGS, 16).map(async (group) => {
        for (const s of group) {
          const token = await sign({ tid: s });
          const res = await http(f.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${token}` } });
          if (res.status === 431) continue; // the 10 000-character claim: Node refuses the header
          if (![400, 404].includes(res.status) || !['INVALID_TENANT_ID', 'TENANT_NOT_FOUND', 'TENANT_REQUIRED'].includes(res.body?.code))
            bad.push(`${describeHostile(s)} → ${res.status} ${JSON.stringify(res.body)}`);
        }
      }),
    );
    expect(bad).toEqual([]);
  });
});

describe('the query resolver', () => {
  it(`?tenant= with each of the ${HOSTILE_STRINGS.length} hostile strings (UTF-8 percent-encoded): 400/404 with a stable code`, async () => {
    const f = await boot([query('tenant')]);
    const bad: string[] = [];
    await Promise.all(
      chunks(HOSTILE_STRINGS, 16).map(async (group) => {
        for (const s of group) {
          const encoded = [...Buffer.from(s, 'utf8')].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
          const res = await http(f.url, 'GET', `/whoami?tenant=${encoded}`);
          if (res.status === 431) continue; // the 10 000-character value: the URL is over Node's 16 KiB header limit
          if (![400, 404].includes(res.status) || !['INVALID_TENANT_ID', 'TENANT_NOT_FOUND', 'TENANT_REQUIRED'].includes(res.body?.code))
            bad.push(`${describeHostile(s)} → ${res.status} ${JSON.stringify(res.body)}`);
        }
      }),
    );
    expect(bad).toEqual([]);
    expect((await http(f.url, 'GET', `/whoami?tenant=${a.slug}&tenant=${b.slug}`)).body.code).toBe('INVALID_TENANT_ID');
  });
});

function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => out[i % n]!.push(item));
  return out;
}

function createHmacB64(signing: string): string {
  return createHmac('sha256', key).update(signing).digest('base64url');
}
