import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { HOSTILE_STRINGS, HOSTILE_STRING_CASES, PROTOTYPE_KEY_SLUGS, describeHostile } from '@tenantry/testing';
import { createApiApp } from '../dist/app-factory.js';
import { configFromEnv } from '../dist/config.js';
import { ADMIN_TOKEN, http, JWT_SECRET, setupApi, type Reply } from './helpers.js';

/**
 * The hostile corpus (`@tenantry/testing`) in every input that reaches Tenantry over HTTP: the
 * slug of POST /tenants, the x-tenant-id header, the /t/:slug path, the Host header (subdomain
 * and custom domain), POST /tenants/:id/domains, the tid/sub claims of tokens signed with the
 * real key, and the bodies of posts, users and login. Each is refused with a 4xx and a stable
 * code — or, where the string is legitimate data (a post title, a password), stored and
 * returned verbatim. The service's log is captured: no line may carry a PostgreSQL error.
 */
const h = await setupApi();
const BASE_DOMAIN = 'example.test';
const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'debug' },
  {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  },
);
const config = configFromEnv({
  LOG_LEVEL: 'debug',
  TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
  TENANTRY_JWT_SECRET: JWT_SECRET,
  DATABASE_URL: h.db.url,
  TENANTRY_BASE_DOMAIN: BASE_DOMAIN,
});
const api = await createApiApp({ config, registryUrl: h.db.url, logger });
await api.app.listen(0, '127.0.0.1');
const port = (api.app.getHttpServer().address() as { port: number }).port;
const u = `http://127.0.0.1:${port}`;
afterAll(async () => {
  await api.app.close();
});

const key = new TextEncoder().encode(JWT_SECRET);
let a: { id: string; slug: string; schema: string };
let token: string;

/** Runs `fn` over `items`, `limit` at a time. */
async function each<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/**
 * One HTTP/1.1 request written byte for byte on a socket, so that header values carry exactly
 * the attacker's bytes (UTF-8, CR, LF, NUL…), which fetch and http.request refuse to send.
 * Returns the first response; `parser` is true when Node's HTTP parser refused the request
 * itself (400 without a body: it never reached the application).
 */
function raw(head: string[], body = ''): Promise<Reply & { parser: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    // Never half-close: Node's HTTP server aborts in-flight requests when the client does.
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const headerText = end === -1 ? text : text.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headerText)?.[1] ?? 0);
      const bodyText =
        end === -1
          ? ''
          : Buffer.from(text.slice(end + 4), 'utf8')
              .subarray(0, length)
              .toString('utf8');
      let parsed: unknown = bodyText;
      try {
        parsed = bodyText.length === 0 ? undefined : JSON.parse(bodyText);
      } catch {
        // not JSON
      }
      // Node's own answers (bad bytes: 400; headers over 16 KiB: 431) come without a body.
      resolve({
        status,
        headers: new Headers(),
        body: parsed,
        parser: (status === 400 || status === 431) && length === 0 && !/content-type/i.test(headerText),
      });
    });
    const bytes = Buffer.concat([
      Buffer.from(`${head.join('\r\n')}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`, 'utf8'),
      Buffer.from(body, 'utf8'),
    ]);
    socket.write(bytes);
  });
}

/** Percent-encodes the UTF-8 bytes of `s` (encodeURIComponent throws on a lone surrogate). */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Length as class-validator's MinLength/MaxLength count it: a surrogate pair or a variation selector is not a character of its own. */
function vlength(s: string): number {
  return s.length - (s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g) ?? []).length - (s.match(/\uFE0F|\uFE0E/g) ?? []).length;
}

/**
 * What a refusal looks like: a 4xx with one of `codes` — or Node's HTTP layer refusing the
 * bytes before the application sees them (400 for invalid bytes, 431 for headers over 16 KiB).
 */
function refusedWith(res: Reply & { parser?: boolean }, codes: readonly string[]): string | undefined {
  if (res.parser === true || (res.status === 431 && (res.body === undefined || res.body === ''))) return undefined;
  if (res.status < 400 || res.status >= 500) return `status ${res.status} ${JSON.stringify(res.body)}`;
  const code = (res.body as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !codes.includes(code)) return `status ${res.status}, code ${JSON.stringify(code)}`;
  return undefined;
}

function expectAllRefused(what: string, results: readonly (string | undefined)[]): void {
  const bad = results.flatMap((r, i) => (r === undefined ? [] : [`${describeHostile(HOSTILE_STRINGS[i]!)} → ${r}`]));
  expect(bad, `${what}: inputs not refused with a 4xx and a stable code`).toEqual([]);
}

beforeAll(async () => {
  const created = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: 'Target', slug: 'target' } });
  expect(created.status).toBe(201);
  a = created.body;
  token = (await http(u, 'POST', `/tenants/${a.id}/tokens`, { token: ADMIN_TOKEN, body: {} })).body.token;
  expect((await http(u, 'POST', '/posts', { tenant: 'target', token, body: { title: 'own', content: 'own' } })).status).toBe(201);
});

const RESOLUTION = ['INVALID_TENANT_ID', 'TENANT_NOT_FOUND', 'TENANT_REQUIRED'];

/**
 * Strings no text column can hold: U+0000 (PostgreSQL refuses it, SQLSTATE 22021) and unpaired
 * surrogates (not representable in UTF-8). The API refuses them in every input with 400.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe(`the hostile corpus (${HOSTILE_STRINGS.length} strings) in every HTTP input`, () => {
  it('has at least 100 distinct strings', () => {
    expect(new Set(HOSTILE_STRINGS).size).toBe(HOSTILE_STRINGS.length);
    expect(HOSTILE_STRINGS.length).toBeGreaterThanOrEqual(100);
  });

  it('slug and subdomain of POST /tenants: 400, no tenant created', async () => {
    const results = await each(HOSTILE_STRINGS, 16, async (s) => {
      const bySlug = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: 'Hostile', slug: s } });
      const bySub = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: 'Hostile', subdomain: s } });
      return (
        refusedWith(bySlug, ['VALIDATION_FAILED', 'INVALID_TENANT_ID']) ?? refusedWith(bySub, ['VALIDATION_FAILED', 'INVALID_TENANT_ID'])
      );
    });
    expectAllRefused('slug', results);
    const { rows } = await h.admin.query<{ n: number }>("select count(*)::int as n from tenantry.tenants where kind = 'tenant'");
    expect(rows[0]!.n).toBe(1);
  });

  it('x-tenant-id header (raw bytes, with a valid token of another tenant): 400/404, or refused by the HTTP parser', async () => {
    const results = await each(HOSTILE_STRINGS, 16, async (s) =>
      refusedWith(await raw(['GET /posts HTTP/1.1', 'Host: 127.0.0.1', `x-tenant-id: ${s}`, `Authorization: Bearer ${token}`]), RESOLUTION),
    );
    expectAllRefused('x-tenant-id', results);
  });

  it('path /t/:slug/posts: 400/404', async () => {
    const results = await each(HOSTILE_STRINGS, 16, async (s) =>
      refusedWith(await http(u, 'GET', `/t/${pct(s)}/posts`, { token }), [...RESOLUTION, 'NOT_FOUND']),
    );
    expectAllRefused('path', results);
  });

  it(`Host header as <slug>.${BASE_DOMAIN} and as a whole custom domain (raw bytes): 400/404, or refused by the HTTP parser`, async () => {
    const results = await each(HOSTILE_STRINGS, 16, async (s) => {
      const sub = await raw(['GET /posts HTTP/1.1', `Host: ${s}.${BASE_DOMAIN}`, `Authorization: Bearer ${token}`]);
      const whole = await raw(['GET /posts HTTP/1.1', `Host: ${s}`, `Authorization: Bearer ${token}`]);
      return refusedWith(sub, RESOLUTION) ?? refusedWith(whole, RESOLUTION);
    });
    expectAllRefused('Host', results);
  });

  it('POST /tenants/:id/domains: 400, no domain registered', async () => {
    const results = await each(HOSTILE_STRINGS, 16, async (s) =>
      refusedWith(await http(u, 'POST', `/tenants/${a.id}/domains`, { token: ADMIN_TOKEN, body: { domain: s } }), [
        'VALIDATION_FAILED',
        'INVALID_DOMAIN',
      ]),
    );
    expectAllRefused('domain', results);
    expect((await http(u, 'GET', `/tenants/${a.id}/domains`, { token: ADMIN_TOKEN })).body).toEqual({ domains: [] });
  });

  it('token claims signed with the real key: a hostile tid is 403 TENANT_MISMATCH; a hostile sub never reaches SQL', async () => {
    const sign = (claims: Record<string, unknown>, sub: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('tenantry-api')
        .setAudience('tenantry-api:tenant')
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    const results = await each(HOSTILE_STRINGS, 16, async (s) => {
      const tid = await http(u, 'GET', '/posts', { tenant: 'target', token: await sign({ tid: s }, s) });
      const r = refusedWith(tid, ['TENANT_MISMATCH']);
      if (r !== undefined || tid.status === 431) return r;
      // A hostile subject with the right tenant is a valid token: the subject is opaque.
      const sub = await http(u, 'GET', '/posts', { tenant: 'target', token: await sign({ tid: a.id }, s) });
      return sub.status === 200 && sub.body.length === 1 ? undefined : `sub: ${sub.status} ${JSON.stringify(sub.body)}`;
    });
    expectAllRefused('token claims', results);
  });

  it('post title and content: stored and returned verbatim when the DTO allows them, else 400', async () => {
    const bad: string[] = [];
    await each(HOSTILE_STRINGS, 16, async (s) => {
      for (const body of [
        { title: s, content: 'c' },
        { title: 't', content: s },
      ]) {
        // NUL and unpaired surrogates cannot be stored as text: refused, whatever the length.
        const storable = !s.includes('\u0000') && !LONE_SURROGATE.test(s);
        const allowed = storable && vlength(body.title) >= 1 && vlength(body.title) <= 200 && vlength(body.content) <= 50_000;
        const res = await http(u, 'POST', '/posts', { tenant: 'target', token, body });
        if (!allowed) {
          const r = refusedWith(res, ['VALIDATION_FAILED']);
          if (r !== undefined) bad.push(`${describeHostile(s)} ${JSON.stringify(Object.keys(body))} → ${r}`);
          continue;
        }
        if (res.status !== 201) {
          bad.push(`${describeHostile(s)} in ${body.title === s ? 'title' : 'content'} → ${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        const back = await http(u, 'GET', `/posts/${res.body.id}`, { tenant: 'target', token });
        if (back.body.title !== body.title || back.body.content !== body.content)
          bad.push(`${describeHostile(s)} came back as ${describeHostile(body.title === s ? back.body.title : back.body.content)}`);
      }
    });
    expect(bad, 'post bodies not stored verbatim nor refused').toEqual([]);
  });

  it('user email (POST /users, POST /auth/login): 400 VALIDATION_FAILED', async () => {
    const results = await each(HOSTILE_STRINGS, 16, async (s) => {
      const user = await http(u, 'POST', '/users', { tenant: 'target', token, body: { email: s, password: 'password123' } });
      const login = await http(u, 'POST', '/auth/login', { tenant: 'target', body: { email: s, password: 'password123' } });
      return refusedWith(user, ['VALIDATION_FAILED']) ?? refusedWith(login, ['VALIDATION_FAILED']);
    });
    expectAllRefused('email', results);
  });

  it('password: a user is created with it (8–200 characters), else 400; one per family logs in with it verbatim', async () => {
    // scrypt makes this the slow one (one hash per creation and per login): every string is
    // offered, the round trip is checked for the first usable string of each family.
    const roundTrip = new Set<string>();
    for (const c of HOSTILE_STRING_CASES) {
      if (
        vlength(c.value) >= 8 &&
        vlength(c.value) <= 200 &&
        ![...roundTrip].some((v) => HOSTILE_STRING_CASES.find((x) => x.value === v)?.family === c.family)
      )
        roundTrip.add(c.value);
    }
    expect(roundTrip.size).toBeGreaterThanOrEqual(10);
    const bad: string[] = [];
    await each(HOSTILE_STRINGS, 4, async (s, i) => {
      const email = `hostile-${i}@target.test`;
      const allowed = vlength(s) >= 8 && vlength(s) <= 200;
      const created = await http(u, 'POST', '/users', { tenant: 'target', token, body: { email, password: s } });
      if (!allowed) {
        const r = refusedWith(created, ['VALIDATION_FAILED']);
        if (r !== undefined) bad.push(`${describeHostile(s)} → ${r}`);
        return;
      }
      if (created.status !== 201) {
        bad.push(`${describeHostile(s)} → ${created.status} ${JSON.stringify(created.body)}`);
        return;
      }
      if (!roundTrip.has(s)) return;
      const ok = await http(u, 'POST', '/auth/login', { tenant: 'target', body: { email, password: s } });
      if (ok.status !== 200) bad.push(`login with ${describeHostile(s)} → ${ok.status}`);
    });
    expect(bad).toEqual([]);
    // Login refuses a hostile password with 401 (or 400 when its length is out of bounds).
    const results = await each(HOSTILE_STRINGS, 16, async (s) => {
      const n = vlength(s);
      if (n >= 1 && n <= 200 && !/^(\x27|' or |%s)/.test(s)) return undefined; // a few below: each costs a dummy scrypt
      const login = await http(u, 'POST', '/auth/login', { tenant: 'target', body: { email: 'nobody@target.test', password: s } });
      return refusedWith(login, n === 0 || n > 200 ? ['VALIDATION_FAILED'] : ['UNAUTHORIZED']);
    });
    expectAllRefused('login password', results);
  });

  it('valid slugs that name Object.prototype members are ordinary, isolated tenants', async () => {
    const made = await each(PROTOTYPE_KEY_SLUGS, 3, async (slug) => {
      const created = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: slug, slug } });
      expect(created.status, slug).toBe(201);
      const t = (await http(u, 'POST', `/tenants/${slug}/tokens`, { token: ADMIN_TOKEN, body: {} })).body.token as string;
      expect((await http(u, 'POST', '/posts', { tenant: slug, token: t, body: { title: `${slug} post`, content: '' } })).status).toBe(201);
      return { slug, id: created.body.id as string, token: t };
    });
    for (const m of made) {
      const viaHeader = await http(u, 'GET', '/posts', { tenant: m.slug, token: m.token });
      const viaPath = await http(u, 'GET', `/t/${m.slug}/posts`, { token: m.token });
      const viaHost = await raw(['GET /posts HTTP/1.1', `Host: ${m.slug}.${BASE_DOMAIN}`, `Authorization: Bearer ${m.token}`]);
      for (const res of [viaHeader, viaPath, viaHost])
        expect(
          res.body.map((p: { title: string }) => p.title),
          m.slug,
        ).toEqual([`${m.slug} post`]);
      expect((await http(u, 'GET', '/posts', { tenant: 'target', token: m.token })).body.code).toBe('TENANT_MISMATCH');
    }
    expect((await http(u, 'GET', '/tenants/__proto__', { token: ADMIN_TOKEN })).status).toBe(400);
  });

  it('nothing reached PostgreSQL as SQL: no error line, no SQLSTATE in the log', () => {
    expect(lines.length).toBeGreaterThan(1000);
    const sqlish =
      /(syntax error|permission denied|invalid byte sequence|does not exist|SQLSTATE|DatabaseError|unterminated|invalid input syntax)/i;
    const offending = lines.filter((l) => {
      const text = JSON.stringify(l);
      const err = (l['err'] ?? {}) as { code?: unknown; severity?: unknown };
      return (
        (typeof l['level'] === 'number' && l['level'] >= 50) ||
        sqlish.test(text) ||
        (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) ||
        err.severity !== undefined
      );
    });
    expect(offending.map((l) => JSON.stringify(l).slice(0, 400))).toEqual([]);
  });
});

describe('strings the corpus found unstorable are refused with 400', () => {
  it('a post title or content containing U+0000 is refused with 400 VALIDATION_FAILED', async () => {
    for (const body of [
      { title: 'ac\u0000me', content: '' },
      { title: 't', content: 'ac\u0000me' },
    ]) {
      const res = await http(u, 'POST', '/posts', { tenant: 'target', token, body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('an email with a lone surrogate is refused with 400 VALIDATION_FAILED', async () => {
    const res = await http(u, 'POST', '/users', { tenant: 'target', token, body: { email: '\ud800', password: 'password123' } });
    expect(res.status).toBe(400);
  });

  it('a post title with a lone surrogate is refused or kept verbatim', async () => {
    const res = await http(u, 'POST', '/posts', { tenant: 'target', token, body: { title: 'a\ud800b', content: '' } });
    if (res.status >= 400 && res.status < 500) return;
    expect(res.body.title).toBe('a\ud800b');
  });
});
