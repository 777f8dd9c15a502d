import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase } from '@tenantry/testing';
import { inject } from 'vitest';
import { setupHarness } from './helpers.js';
import { createTenancy, migrationList, type Tenancy } from '../src/index.js';

const h = await setupHarness();

describe('registry', () => {
  it('five processes starting together migrate the registry exactly once', async () => {
    const db = await createTestDatabase(inject('tenantryServerUrl'), 'reg');
    const started: Tenancy[] = [];
    try {
      started.push(...(await Promise.all(Array.from({ length: 5 }, () => createTenancy({ registryUrl: db.url, listen: false })))));
      const client = new pg.Client(db.url);
      await client.connect();
      const { rows } = await client.query('select version, count(*)::int as n from tenantry.registry_migrations group by version');
      await client.end();
      expect(rows.every((r) => r.n === 1)).toBe(true);
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      for (const t of started) await t.close();
      await db.drop();
    }
  });

  it("another process's suspend, rename and delete reach this process's cache through LISTEN/NOTIFY", async () => {
    const mine = await h.tenancy({ migrations: migrationList([]), cache: { ttlMs: 3_600_000 } });
    const theirs = await h.tenancy({ migrations: migrationList([]) });
    const t = await theirs.tenants.create({ slug: 'shared', name: 'Shared' });
    await mine.withTenant('shared', (db) => db.query('select 1')); // cached now
    expect(mine.stats().cache).toMatchObject({ listening: true });
    await theirs.tenants.suspend('shared');
    await expect
      .poll(() =>
        mine
          .withTenant('shared', (db) => db.query('select 1'))
          .then(
            () => 'ok',
            (e: { code: string }) => e.code,
          ),
      )
      .toBe('TENANT_SUSPENDED');
    await theirs.tenants.resume('shared');
    await theirs.tenants.rename('shared', 'shared-2');
    await expect
      .poll(() =>
        mine
          .withTenant('shared', (db) => db.query('select 1'))
          .then(
            () => 'ok',
            (e: { code: string }) => e.code,
          ),
      )
      .toBe('TENANT_NOT_FOUND');
    await mine.withTenant('shared-2', (db) => db.query('select 1'));
    await theirs.tenants.delete(t.id);
    await expect
      .poll(() =>
        mine
          .withTenant(t.id, (db) => db.query('select 1'))
          .then(
            () => 'ok',
            (e: { code: string }) => e.code,
          ),
      )
      .toBe('TENANT_NOT_FOUND');
  });

  it('when the listener connection is lost, the cache is bypassed until it is back', async () => {
    const mine = await h.tenancy({ migrations: migrationList([]), cache: { ttlMs: 3_600_000 } });
    const theirs = await h.tenancy({ migrations: migrationList([]), listen: false });
    await theirs.tenants.create({ slug: 'lost', name: 'Lost' });
    await mine.withTenant('lost', (db) => db.query('select 1'));
    await h.admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'tenantry:listener'",
      [h.db.name],
    );
    await expect.poll(() => mine.stats().cache.listening).toBe(false);
    // A change made while the listener is down is still seen: the cache is not trusted.
    await h.admin.query("update tenantry.tenants set status = 'SUSPENDED' where slug = 'lost'");
    await expect(mine.withTenant('lost', (db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_SUSPENDED' });
    await expect.poll(() => mine.stats().cache.listening, { timeout: 5000 }).toBe(true);
  });

  it('createTenancy explains a bad URL and an unreachable registry', async () => {
    await expect(createTenancy({ registryUrl: 'mysql://x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createTenancy({ registryUrl: 'postgres://nobody:wrong@127.0.0.1:1/none' })).rejects.toMatchObject({
      code: 'SERVER_UNAVAILABLE',
      message: expect.stringContaining('127.0.0.1:1/none'),
    });
    await expect(createTenancy({ registryUrl: h.db.url, pool: { max: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a closed tenancy refuses work with TENANCY_CLOSED', async () => {
    const t = await createTenancy({ registryUrl: h.db.url, migrations: migrationList([]) });
    await t.close();
    await t.close();
    await expect(t.withTenant('anyone', (db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANCY_CLOSED' });
  });

  it('a deleted tenant read by id never answers for the next tenant that takes its slug', async () => {
    // No listener: only this process's own cache decides (no NOTIFY can come to the rescue).
    const t = await h.tenancy({ listen: false, migrations: migrationList([]) });
    const old = await t.tenants.create({ slug: 'slug-reuse', name: 'Old' });
    await t.tenants.delete(old.id);
    // Reading the deleted row by id caches it…
    await expect(t.resolve(old.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    // …and the slug goes to a new tenant, which must be the one the slug resolves to.
    const fresh = await t.tenants.create({ slug: 'slug-reuse', name: 'New' });
    expect((await t.resolve('slug-reuse')).id).toBe(fresh.id);
    await expect(t.resolve(old.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });

  it('refresh ahead: a tenant in use is re-read in the background before its entry expires, and never waits for it', async () => {
    // listen: false, so only the cache's own clock (no NOTIFY) can show the change made below.
    const t = await h.tenancy({ migrations: migrationList([]), listen: false, cache: { ttlMs: 60_000, refreshAfterMs: 100 } });
    const created = await t.tenants.create({ slug: 'refresh-ahead', name: 'Before' });
    expect((await t.resolve('refresh-ahead')).name).toBe('Before');
    // Changed behind the process's back (as another process with no NOTIFY would).
    await h.admin.query('update tenantry.tenants set name = $1 where id = $2', ['After', created.id]);
    expect((await t.resolve('refresh-ahead')).name).toBe('Before');
    await new Promise((r) => setTimeout(r, 150));
    // Older than refreshAfterMs: still served from the cache, and re-read meanwhile.
    expect((await t.resolve('refresh-ahead')).name).toBe('Before');
    await expect.poll(async () => (await t.resolve('refresh-ahead')).name, { timeout: 5_000, interval: 50 }).toBe('After');
    // Suspended behind its back: the next re-read stores it, and the status gate refuses it.
    await h.admin.query("update tenantry.tenants set status = 'SUSPENDED' where id = $1", [created.id]);
    await new Promise((r) => setTimeout(r, 150));
    await expect
      .poll(
        () =>
          t.resolve('refresh-ahead').then(
            () => 'ok',
            (e: { code: string }) => e.code,
          ),
        { timeout: 5_000, interval: 50 },
      )
      .toBe('TENANT_SUSPENDED');
  });
});
