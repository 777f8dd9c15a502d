import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort, HOSTILE_STRINGS, describeHostile, startEmbeddedServer, TEST_SERVER_FLAGS } from '@tenantry/testing';
import { ADMIN_TOKEN, http, logCapture, setupApi, tenantWithToken } from './helpers.js';

/**
 * The server fleet over HTTP: a second, real PostgreSQL server is added through `POST /servers`
 * with a role whose password is random, so that any echo of it — in a reply, an error or a log
 * line — is caught.
 */
const second = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
afterAll(() => second.stop());
const h = await setupApi();
const logs = logCapture();
const api = await h.start(
  { LOG_LEVEL: 'debug', TENANTRY_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
  { logDestination: logs.destination },
);
const u = api.url;
const admin = { token: ADMIN_TOKEN };
const { token: tenantToken } = await tenantWithToken(u, 'Server Watcher', 'server-watcher');

const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const ROLE = 'fleet_owner';
{
  const c = new pg.Client({ connectionString: second.url });
  await c.connect();
  await c.query(`create role ${c.escapeIdentifier(ROLE)} login superuser password ${c.escapeLiteral(PASSWORD)}`);
  await c.end();
}
const secondUrl = `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${second.port}/postgres`;
const secondHost = `${ROLE}@127.0.0.1:${second.port}/postgres`;
const SERVER_ID = /^[a-z][a-z0-9-]{0,62}$/;

function noSecret(value: unknown): void {
  expect(JSON.stringify(value)).not.toContain(PASSWORD);
}

describe('admin API authentication on /servers', () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/servers'],
    ['GET', '/servers/default'],
    ['POST', '/servers', { id: 'sneaky', url: secondUrl }],
    ['POST', '/servers/default/drain'],
    ['POST', '/servers/default/undrain'],
  ];
  it.each(routes)('%s %s answers 401 without the admin token, and with a tenant token', async (method, path, body) => {
    const none = await http(u, method, path, body === undefined ? {} : { body });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHORIZED');
    const tenant = await http(u, method, path, { token: tenantToken, ...(body === undefined ? {} : { body }) });
    expect(tenant.status).toBe(401);
    expect(tenant.body.code).toBe('UNAUTHORIZED');
  });

  it('let nothing through: no server was added or drained', async () => {
    const list = await http(u, 'GET', '/servers', admin);
    expect(list.body.servers.map((s: { id: string }) => s.id)).toEqual(['default']);
    expect(list.body.servers[0].draining).toBe(false);
  });
});

describe('servers', () => {
  it('lists the registry server as default, with no password', async () => {
    const res = await http(u, 'GET', '/servers', admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      servers: [
        {
          id: 'default',
          host: expect.stringMatching(/^[^:@/]+@127\.0\.0\.1:\d+\/test/),
          replicaHost: null,
          capacity: null,
          draining: false,
          tenants: 1,
          createdAt: expect.any(String),
        },
      ],
    });
    expect(new Date(res.body.servers[0].createdAt).toISOString()).toBe(res.body.servers[0].createdAt);
    expect(res.body.servers[0].host).not.toContain(':postgres@');
  });

  it('adds a second server: 201 with user@host:port/database, the password nowhere — reply, list, registry row, log', async () => {
    const added = await http(u, 'POST', '/servers', { ...admin, body: { id: 'eu-2', url: secondUrl, capacity: 50 } });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      id: 'eu-2',
      host: secondHost,
      replicaHost: null,
      capacity: 50,
      draining: false,
      tenants: 0,
      createdAt: expect.any(String),
    });
    noSecret(added.body);
    const list = await http(u, 'GET', '/servers', admin);
    expect(list.body.servers.map((s: { id: string }) => s.id)).toEqual(['default', 'eu-2']);
    noSecret(list.body);
    const one = await http(u, 'GET', '/servers/eu-2', admin);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(added.body);
    const { rows } = await h.admin.query('select * from tenantry.servers');
    expect(rows).toHaveLength(2);
    noSecret(rows);
    expect(logs.raw.some((l) => l.includes('server added'))).toBe(true);
    expect(logs.raw.filter((l) => l.includes(PASSWORD))).toEqual([]);
  });

  it('answers 409 SERVER_EXISTS for a taken id', async () => {
    const dup = await http(u, 'POST', '/servers', { ...admin, body: { id: 'eu-2', url: secondUrl } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('SERVER_EXISTS');
    noSecret(dup.body);
  });

  it('places a tenant on the added server, whose data is then reached through it', async () => {
    const created = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'On Eu Two', slug: 'on-eu-two', server: 'eu-2' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: 'on-eu-two', server: 'eu-2', status: 'ACTIVE', schemaVersion: '0002_create_users' });
    const { token } = (await http(u, 'POST', '/tenants/on-eu-two/tokens', admin)).body;
    expect((await http(u, 'POST', '/posts', { token, tenant: 'on-eu-two', body: { title: 'stored on eu-2', content: '' } })).status).toBe(
      201,
    );
    // The table is on the second server, in the tenant's schema.
    const c = new pg.Client({ connectionString: second.url });
    await c.connect();
    try {
      const { rows } = await c.query(`select title from ${c.escapeIdentifier(created.body.schema)}.posts`);
      expect(rows).toEqual([{ title: 'stored on eu-2' }]);
    } finally {
      await c.end();
    }
    expect((await http(u, 'GET', '/servers/eu-2', admin)).body.tenants).toBe(1);
  });

  it('drains: new tenants there get 409 SERVER_DRAINING, its tenants keep working; undrain lets them in again', async () => {
    const drained = await http(u, 'POST', '/servers/eu-2/drain', admin);
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ id: 'eu-2', draining: true, tenants: 1 });
    noSecret(drained.body);
    expect((await http(u, 'POST', '/servers/eu-2/drain', admin)).body.draining).toBe(true);
    const refused = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Too Late', slug: 'too-late', server: 'eu-2' } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('SERVER_DRAINING');
    const { token } = (await http(u, 'POST', '/tenants/on-eu-two/tokens', admin)).body;
    expect((await http(u, 'GET', '/posts', { token, tenant: 'on-eu-two' })).status).toBe(200);
    const undrained = await http(u, 'POST', '/servers/eu-2/undrain', admin);
    expect(undrained.status).toBe(200);
    expect(undrained.body.draining).toBe(false);
    const placed = await http(u, 'POST', '/tenants', { ...admin, body: { name: 'Too Late', slug: 'too-late', server: 'eu-2' } });
    expect(placed.status).toBe(201);
    expect(placed.body.server).toBe('eu-2');
    expect((await http(u, 'GET', '/servers/eu-2', admin)).body).toMatchObject({ draining: false, tenants: 2 });
  });

  it('answers 404 SERVER_NOT_FOUND for an unknown server on every route', async () => {
    for (const [method, path] of [
      ['GET', '/servers/mars-1'],
      ['POST', '/servers/mars-1/drain'],
      ['POST', '/servers/mars-1/undrain'],
    ] as const) {
      const res = await http(u, method, path, admin);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('SERVER_NOT_FOUND');
    }
  });

  it('answers 422 SERVER_UNAVAILABLE when the server does not accept the connection, naming the reason but not the password; nothing is registered', async () => {
    const closed = await freePort();
    const refused = await http(u, 'POST', '/servers', {
      ...admin,
      body: { id: 'eu-3', url: `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${closed}/postgres` },
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({
      statusCode: 422,
      code: 'SERVER_UNAVAILABLE',
      message: expect.stringContaining(`${ROLE}@127.0.0.1:${closed}/postgres`),
    });
    expect(refused.body.message).toContain('ECONNREFUSED');
    noSecret(refused.body);
    const badPassword = await http(u, 'POST', '/servers', {
      ...admin,
      body: { id: 'eu-3', url: secondUrl.replace(PASSWORD, `${PASSWORD}-wrong`) },
    });
    expect(badPassword.status).toBe(422);
    expect(badPassword.body.message).toContain('password authentication failed');
    noSecret(badPassword.body);
    const badReplica = await http(u, 'POST', '/servers', {
      ...admin,
      body: { id: 'eu-3', url: secondUrl, replicaUrl: `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${closed}/postgres` },
    });
    expect(badReplica.status).toBe(422);
    expect(badReplica.body.message).toContain('the replica');
    noSecret(badReplica.body);
    expect((await http(u, 'GET', '/servers/eu-3', admin)).status).toBe(404);
    expect(logs.raw.filter((l) => l.includes(PASSWORD))).toEqual([]);
  });

  it('adds a server with a replica; the replica is shown as user@host:port/database', async () => {
    const res = await http(u, 'POST', '/servers', {
      ...admin,
      body: { id: 'eu-4', url: secondUrl, replicaUrl: secondUrl.replace('postgres://', 'postgresql://') },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'eu-4', host: secondHost, replicaHost: secondHost, capacity: null });
    noSecret(res.body);
  });
});

describe('POST /servers validation', () => {
  const good = { id: 'eu-9', url: secondUrl };
  const cases: [string, Record<string, unknown>, string][] = [
    ['no id', { url: secondUrl }, 'id'],
    ['no url', { id: 'eu-9' }, 'url'],
    ['an uppercase id', { ...good, id: 'EU-9' }, 'id'],
    ['a 64-character id', { ...good, id: `e${'u'.repeat(63)}` }, 'id'],
    ['a numeric id', { ...good, id: 9 }, 'id'],
    ['a mysql url', { ...good, url: 'mysql://root:secret@db:3306/app' }, 'url'],
    ['an http url', { ...good, url: 'http://db2:5432/app' }, 'url'],
    ['a url with no host', { ...good, url: 'postgres:///app' }, 'url'],
    ['a url with a space', { ...good, url: 'postgres://app:se cret@db2/app' }, 'url'],
    ['a url over 2048 characters', { ...good, url: `postgres://db2/${'a'.repeat(2048)}` }, 'url'],
    ['a url that is not a string', { ...good, url: { host: 'db2' } }, 'url'],
    ['a bad replica url', { ...good, replicaUrl: 'db2-replica:5432' }, 'replicaUrl'],
    ['capacity 0', { ...good, capacity: 0 }, 'capacity'],
    ['capacity over 1 000 000', { ...good, capacity: 1_000_001 }, 'capacity'],
    ['a fractional capacity', { ...good, capacity: 1.5 }, 'capacity'],
    ['a capacity as a string', { ...good, capacity: '10' }, 'capacity'],
    ['an unknown field', { ...good, password: 'x' }, 'password'],
  ];
  it.each(cases)('refuses %s with 400 VALIDATION_FAILED naming the field', async (_name, body, field) => {
    const res = await http(u, 'POST', '/servers', { ...admin, body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    noSecret(res.body);
    expect(JSON.stringify(res.body)).not.toContain('secret');
  });

  it('refuses every hostile string as an id, and as a url, with 400 VALIDATION_FAILED on that field', async () => {
    // A few hostile strings (`a`, `pg-catalog`, `acme-`) are well-formed server ids: not hostile here.
    const ids = HOSTILE_STRINGS.filter((s) => !SERVER_ID.test(s));
    expect(ids.length).toBeGreaterThan(100);
    for (const s of ids) {
      const res = await http(u, 'POST', '/servers', { ...admin, body: { id: s, url: secondUrl } });
      expect([res.status, res.body.code, res.body.errors?.[0]?.field], `id ${describeHostile(s)}`).toEqual([
        400,
        'VALIDATION_FAILED',
        'id',
      ]);
    }
    for (const s of HOSTILE_STRINGS) {
      const res = await http(u, 'POST', '/servers', { ...admin, body: { id: 'eu-9', url: s } });
      expect([res.status, res.body.code, res.body.errors?.[0]?.field], `url ${describeHostile(s)}`).toEqual([
        400,
        'VALIDATION_FAILED',
        'url',
      ]);
    }
    expect((await http(u, 'GET', '/servers/eu-9', admin)).status).toBe(404);
  });

  it('refuses a malformed id in the path with 400', async () => {
    for (const s of ["x' or 1=1 --", 'EU-2', '_acme', 'z'.repeat(100), '%00']) {
      const res = await http(u, 'GET', `/servers/${encodeURIComponent(s)}`, admin);
      expect([res.status, res.body.code], describeHostile(s)).toEqual([400, 'VALIDATION_FAILED']);
      expect((await http(u, 'POST', `/servers/${encodeURIComponent(s)}/drain`, admin)).status).toBe(400);
    }
  });
});

describe('without TENANTRY_ENCRYPTION_KEY', () => {
  it('POST /servers answers 503 ENCRYPTION_KEY_REQUIRED saying how to fix it, before connecting anywhere; listing still works', async () => {
    const keyless = await h.start();
    // A port nobody listens on: had it tried to connect first, the answer would be 422.
    const closed = await freePort();
    const res = await http(keyless.url, 'POST', '/servers', {
      ...admin,
      body: { id: 'eu-5', url: `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${closed}/postgres` },
    });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      statusCode: 503,
      code: 'ENCRYPTION_KEY_REQUIRED',
      message: expect.stringContaining('TENANTRY_ENCRYPTION_KEY'),
    });
    expect(res.headers.get('retry-after')).toBeNull();
    noSecret(res.body);
    const list = await http(keyless.url, 'GET', '/servers', admin);
    expect(list.status).toBe(200);
    // It cannot decrypt the other servers' URLs: it says so instead of showing them.
    expect(list.body.servers.find((s: { id: string }) => s.id === 'eu-2').host).toBe('(encrypted)');
    noSecret(list.body);
    expect((await http(u, 'GET', '/servers/eu-5', admin)).status).toBe(404);
    await keyless.close();
  });
});
