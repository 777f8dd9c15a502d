import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer, TEST_SERVER_FLAGS, type EmbeddedServer } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import { migrationList } from '../src/index.js';

const h = await setupHarness();
const KEY_A = randomBytes(32).toString('hex');
const KEY_B = randomBytes(32).toString('hex');
let extra: EmbeddedServer;

beforeAll(async () => {
  extra = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
}, 60_000);
afterAll(async () => {
  await extra.stop();
});

const none = migrationList([]);

describe('servers.remove(), servers.update() and placement', () => {
  it('placement skips a server whose URL this process cannot decrypt; the process holding its key places there', async () => {
    const a = await h.tenancy({ encryptionKey: KEY_A, migrations: none });
    const b = await h.tenancy({ encryptionKey: KEY_B, migrations: none });
    await a.servers.add({ id: 'key-a', url: extra.url });
    await b.servers.add({ id: 'key-b', url: extra.url });
    await a.tenants.create({ slug: 'on-key-a', name: 'A', server: 'key-a' });
    await a.servers.drain('default');
    try {
      // key-b is the least loaded, but a cannot decrypt its URL: a places on key-a instead.
      for (let i = 0; i < 2; i++) {
        const t = await a.tenants.create({ slug: `placed-a-${i}`, name: 'A' });
        expect(t).toMatchObject({ server: 'key-a', status: 'ACTIVE' });
        await a.withTenant(t.id, (db) => db.query('select 1'));
      }
      // …and b, which cannot decrypt key-a's, places on key-b.
      const t = await b.tenants.create({ slug: 'placed-b', name: 'B' });
      expect(t).toMatchObject({ server: 'key-b', status: 'ACTIVE' });
      await b.withTenant(t.id, (db) => db.query('select 1'));
      // With no server it can use, a says so instead of failing on key-b.
      await a.servers.drain('key-a');
      await expect(a.tenants.create({ slug: 'placed-none', name: 'N' })).rejects.toMatchObject({ code: 'NO_SERVER_CAPACITY' });
      await a.servers.undrain('key-a');
    } finally {
      await a.servers.undrain('default');
    }
  });

  it('remove is refused while tenants live there, needs force for deleted ones, and never removes default', async () => {
    const tenancy = await h.tenancy({ encryptionKey: KEY_A, migrations: none });
    await tenancy.servers.add({ id: 'to-remove', url: extra.url });
    const t = await tenancy.tenants.create({ slug: 'lives-there', name: 'L', server: 'to-remove' });
    await expect(tenancy.servers.remove('to-remove')).rejects.toMatchObject({ code: 'SERVER_IN_USE', message: /1 live tenant/ });
    await expect(tenancy.servers.remove('to-remove', { force: true })).rejects.toMatchObject({ code: 'SERVER_IN_USE' });
    await tenancy.tenants.delete(t.id);
    await expect(tenancy.servers.remove('to-remove')).rejects.toMatchObject({ code: 'SERVER_IN_USE', message: /force/ });
    expect((await tenancy.servers.get('to-remove')).id).toBe('to-remove');
    await tenancy.servers.remove('to-remove', { force: true });
    await expect(tenancy.servers.get('to-remove')).rejects.toMatchObject({ code: 'SERVER_NOT_FOUND' });
    expect((await h.admin.query('select count(*)::int as n from tenantry.tenants where server_id = $1', ['to-remove'])).rows[0].n).toBe(0);
    // A server never used goes without force; an unknown one and default are refused.
    await tenancy.servers.add({ id: 'unused', url: extra.url });
    await tenancy.servers.remove('unused');
    await expect(tenancy.servers.remove('unused')).rejects.toMatchObject({ code: 'SERVER_NOT_FOUND' });
    await expect(tenancy.servers.remove('default', { force: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // The id is free again.
    await tenancy.servers.add({ id: 'to-remove', url: extra.url });
  });

  it('update changes capacity, replica and URL: URLs probed and stored encrypted, and this process uses the new ones', async () => {
    const tenancy = await h.tenancy({ encryptionKey: KEY_A, migrations: none, applicationName: 'tenantry-upd' });
    await tenancy.servers.add({ id: 'upd', url: extra.url });
    const t = await tenancy.tenants.create({ slug: 'on-upd', name: 'U', server: 'upd' });
    const app = () =>
      tenancy.withTenant(
        t.id,
        async (db) => (await db.query<{ a: string }>("select current_setting('application_name') as a")).rows[0]!.a,
        {
          readOnly: true,
        },
      );
    expect(await app()).toBe('tenantry-upd');
    expect(await tenancy.servers.update('upd', { capacity: 7 })).toMatchObject({ capacity: 7, replicaHost: null });
    // A replica: read-only units of work go there at once.
    const updated = await tenancy.servers.update('upd', { replicaUrl: extra.url });
    expect(updated.replicaHost).toContain(String(extra.port));
    expect(await app()).toBe('tenantry-upd:replica');
    // A new URL of the same server (another spelling of its host), stored encrypted.
    const other = extra.url.replace('127.0.0.1', 'localhost');
    expect(other).not.toBe(extra.url);
    expect((await tenancy.servers.update('upd', { url: other, replicaUrl: null })).host).toContain('localhost');
    const stored = (
      await h.admin.query<{ url: string; replica_url: string | null }>("select url, replica_url from tenantry.servers where id = 'upd'")
    ).rows[0]!;
    expect(stored.url).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(stored.url).not.toContain('localhost');
    expect(stored.replica_url).toBeNull();
    expect(await app()).toBe('tenantry-upd');
    // Bad input changes nothing.
    await expect(tenancy.servers.update('upd', { url: 'postgres://postgres:postgres@127.0.0.1:1/postgres' })).rejects.toMatchObject({
      code: 'SERVER_UNAVAILABLE',
    });
    await expect(tenancy.servers.update('upd', { capacity: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(tenancy.servers.update('default', { url: extra.url })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(tenancy.servers.update('nope', { capacity: 1 })).rejects.toMatchObject({ code: 'SERVER_NOT_FOUND' });
    expect((await tenancy.servers.get('upd')).host).toContain('localhost');
    await tenancy.withTenant(t.id, (db) => db.query('select 1'));
  });

  it("the registry's own server takes a replica too: at once, and in a process started after", async () => {
    const appName = 'tenantry-own-replica';
    const tenancy = await h.tenancy({ encryptionKey: KEY_A, migrations: none, applicationName: appName });
    const t = await tenancy.tenants.create({ slug: 'on-default', name: 'D' });
    const app = (tn: typeof tenancy) =>
      tn.withTenant(t.id, async (db) => (await db.query<{ a: string }>("select current_setting('application_name') as a")).rows[0]!.a, {
        readOnly: true,
      });
    expect(await app(tenancy)).toBe(appName);
    // The same server as its own replica (a real one is another host): reads now go there.
    await tenancy.servers.update('default', { replicaUrl: h.db.url });
    expect(await app(tenancy)).toBe(`${appName}:replica`);
    const later = await h.tenancy({ encryptionKey: KEY_A, migrations: none, applicationName: appName });
    expect(await app(later)).toBe(`${appName}:replica`);
    await tenancy.servers.update('default', { replicaUrl: null });
    expect(await app(tenancy)).toBe(appName);
  });
});
