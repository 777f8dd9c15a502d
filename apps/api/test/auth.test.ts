import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, http, JWT_SECRET, setupApi, tenantWithToken } from './helpers.js';

const h = await setupApi();
const api = await h.start();
const u = api.url;
const key = new TextEncoder().encode(JWT_SECRET);

let a: { tenant: any; token: string };
let b: { tenant: any; token: string };

beforeAll(async () => {
  a = await tenantWithToken(u, 'Auth A', 'auth-a');
  b = await tenantWithToken(u, 'Auth B', 'auth-b');
});

function sign(
  claims: Record<string, unknown>,
  opts: { key?: Uint8Array; iss?: string; aud?: string; exp?: number | string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(opts.iss ?? 'tenantry-api')
    .setAudience(opts.aud ?? 'tenantry-api:tenant')
    .setSubject('tester')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.key ?? key);
}

describe('tenant auth', () => {
  it('needs a bearer token on tenant routes', async () => {
    const res = await http(u, 'GET', '/posts', { tenant: 'auth-a' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    expect(res.body.message).toMatch(/Bearer <tenant token>/);
  });

  it('answers 403 TENANT_MISMATCH for tenant A’s token on tenant B', async () => {
    for (const [method, path, body] of [
      ['GET', '/posts', undefined],
      ['GET', '/posts/published', undefined],
      ['POST', '/posts', { title: 'x', content: 'y' }],
      ['POST', '/users', { email: 'x@b.test', password: 'password123' }],
    ] as const) {
      const res = await http(u, method, path, { tenant: 'auth-b', token: a.token, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.code).toBe('TENANT_MISMATCH');
    }
    expect((await http(u, 'GET', '/t/auth-b/posts', { token: a.token })).body.code).toBe('TENANT_MISMATCH');
    // Nothing was written in B.
    expect((await http(u, 'GET', '/posts', { tenant: 'auth-b', token: b.token })).body).toEqual([]);
  });

  it('rejects forged, unsigned, expired and foreign-issuer tokens with 401', async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = { tid: a.tenant.id, sub: 'x', iss: 'tenantry-api', aud: 'tenantry-api:tenant', iat: now, exp: now + 300 };
    const cases: [string, string][] = [
      ['alg none', `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`],
      ['wrong key', await sign({ tid: a.tenant.id }, { key: new TextEncoder().encode('x'.repeat(40)) })],
      ['expired', await sign({ tid: a.tenant.id }, { exp: now - 60 })],
      ['other issuer', await sign({ tid: a.tenant.id }, { iss: 'someone-else' })],
      ['other audience', await sign({ tid: a.tenant.id }, { aud: 'other' })],
      ['no tid', await sign({})],
      [
        'tampered',
        (() => {
          const [h0, , s] = a.token.split('.');
          return `${h0}.${part({ ...claims, tid: b.tenant.id })}.${s}`;
        })(),
      ],
      ['admin token', ADMIN_TOKEN],
    ];
    for (const [what, token] of cases) {
      const res = await http(u, 'GET', '/posts', { tenant: 'auth-a', token });
      expect(res.status, what).toBe(401);
      expect(res.body, what).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: 'the bearer token is invalid or expired' });
    }
    // A correctly signed token of ours works (the test signs like the service does).
    expect((await http(u, 'GET', '/posts', { tenant: 'auth-a', token: await sign({ tid: a.tenant.id }) })).status).toBe(200);
  });

  it('creates users (tenant token needed) and logs them in with email and password', async () => {
    const created = await http(u, 'POST', '/users', {
      tenant: 'auth-a',
      token: a.token,
      body: { email: 'alice@a.test', password: 'correct horse battery' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: 'alice@a.test', createdAt: expect.any(String) });
    expect((await http(u, 'POST', '/users', { tenant: 'auth-a', body: { email: 'eve@a.test', password: 'password123' } })).status).toBe(
      401,
    );
    const dup = await http(u, 'POST', '/users', {
      tenant: 'auth-a',
      token: a.token,
      body: { email: 'ALICE@a.test', password: 'another password' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('USER_EXISTS');

    // The password is stored as a salted scrypt hash.
    const { rows } = await h.admin.query<{ password_hash: string }>(`select password_hash from "${a.tenant.schema}".users`);
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(rows[0]!.password_hash).not.toContain('correct horse');

    const login = await http(u, 'POST', '/auth/login', {
      tenant: 'auth-a',
      body: { email: 'Alice@A.test', password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', tenantId: a.tenant.id });
    const claims = JSON.parse(Buffer.from(login.body.token.split('.')[1], 'base64url').toString());
    expect(claims.sub).toBe(`user:${created.body.id}`);
    expect(claims.exp - claims.iat).toBe(3600);
    const posted = await http(u, 'POST', '/posts', { tenant: 'auth-a', token: login.body.token, body: { title: 'by alice', content: '' } });
    expect(posted.status).toBe(201);
    // The login token is tenant A's only.
    expect((await http(u, 'GET', '/posts', { tenant: 'auth-b', token: login.body.token })).body.code).toBe('TENANT_MISMATCH');
  });

  it('refuses wrong passwords, unknown users and users of another tenant alike', async () => {
    const wrong = await http(u, 'POST', '/auth/login', { tenant: 'auth-a', body: { email: 'alice@a.test', password: 'wrong password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: 'invalid email or password' });
    const unknown = await http(u, 'POST', '/auth/login', { tenant: 'auth-a', body: { email: 'nobody@a.test', password: 'whatever1' } });
    expect(unknown.body).toEqual(wrong.body);
    // alice exists in A only.
    const elsewhere = await http(u, 'POST', '/auth/login', {
      tenant: 'auth-b',
      body: { email: 'alice@a.test', password: 'correct horse battery' },
    });
    expect(elsewhere.status).toBe(401);
    const noTenant = await http(u, 'POST', '/auth/login', { body: { email: 'alice@a.test', password: 'correct horse battery' } });
    expect(noTenant.status).toBe(400);
    expect(noTenant.body.code).toBe('TENANT_REQUIRED');
  });
});
