import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { HOSTILE_STRING_CASES, startEmbeddedServer, TEST_SERVER_FLAGS, type EmbeddedServer } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import { fill, mobilityMigrations, snapshotOf } from './mobility-fixture.js';
import type { DrainProgress, Tenancy } from '../src/index.js';

const h = await setupHarness();
let other: EmbeddedServer;
let tenancy: Tenancy;

beforeAll(async () => {
  other = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
  tenancy = await h.tenancy({ migrations: mobilityMigrations(), encryptionKey: randomBytes(32).toString('hex') });
  await tenancy.servers.add({ id: 'crowded', url: other.url });
}, 60_000);
afterAll(async () => {
  await tenancy?.close();
  await other?.stop();
});

async function containers(url: string): Promise<string[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>(
      `select nspname as n from pg_namespace where nspname ~ '^t_[0-9a-f]{32}$' union all select datname from pg_database where datname ~ '^t_[0-9a-f]{32}$' order by 1`,
    );
    return rows.map((r) => r.n);
  } finally {
    await c.end();
  }
}

describe('draining a server by moving its tenants', () => {
  it('moves every tenant off the server, a bounded number at a time; one that fails stays whole and the rest continue', async () => {
    const slugs = ['drain-a', 'drain-b', 'drain-c', 'drain-db', 'drain-paused', 'drain-drifted'];
    for (const slug of slugs)
      await tenancy.tenants.create({ slug, name: slug, server: 'crowded', isolation: slug === 'drain-db' ? 'database' : 'schema' });
    for (const slug of ['drain-a', 'drain-db', 'drain-paused']) await fill(tenancy, slug, 6);
    const before = { a: await snapshotOf(tenancy, 'drain-a'), db: await snapshotOf(tenancy, 'drain-db') };
    await tenancy.tenants.suspend('drain-paused');
    // A hand-made change: its backup is refused (CATALOG_DRIFTED), so its move fails.
    const drifted = await tenancy.tenants.get('drain-drifted');
    const c = new pg.Client(other.url);
    await c.connect();
    await c.query(`alter table ${drifted.physicalName}.posts add column hand_made int`);
    await c.end();

    const progress: DrainProgress[] = [];
    const result = await tenancy.mobility.drain('crowded', { concurrency: 2, retainHours: 0, onProgress: (p) => progress.push(p) });

    expect(result.counts).toEqual({ moved: 5, failed: 1, skipped: 0 });
    expect(result.ok).toBe(false);
    expect(result.remaining).toBe(1);
    expect(result.retainedCopies).toBe(0);
    const failed = result.results.find((r) => r.status === 'failed')!;
    expect(failed.tenant.slug).toBe('drain-drifted');
    expect(failed.error).toMatchObject({ code: 'CATALOG_DRIFTED' });
    for (const r of result.results.filter((x) => x.status === 'moved')) expect(r.to, r.tenant.slug).toBe('default');
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(progress.map((p) => p.total))).toEqual(new Set([6]));
    expect(progress.map((p) => p.result.tenant.slug).sort()).toEqual([...slugs].sort());

    // Moved tenants are on the other server, same tier, same data; the suspended one stays suspended.
    expect(await tenancy.tenants.get('drain-a')).toMatchObject({ server: 'default', isolation: 'schema', status: 'ACTIVE' });
    expect(await tenancy.tenants.get('drain-db')).toMatchObject({ server: 'default', isolation: 'database', status: 'ACTIVE' });
    expect(await tenancy.tenants.get('drain-paused')).toMatchObject({ server: 'default', status: 'SUSPENDED' });
    expect(await snapshotOf(tenancy, 'drain-a')).toEqual(before.a);
    expect(await snapshotOf(tenancy, 'drain-db')).toEqual(before.db);
    // The failed one is where it was, ACTIVE and serving; only its container is left on the server.
    expect(await tenancy.tenants.get('drain-drifted')).toMatchObject({ server: 'crowded', status: 'ACTIVE' });
    await expect(
      tenancy.withTenant('drain-drifted', async (db) => (await db.query('select count(*)::int as n from posts')).rows[0]),
    ).resolves.toEqual({
      n: 0,
    });
    expect(await containers(other.url)).toEqual([drifted.physicalName]);
    // The server takes no new tenant meanwhile.
    expect((await tenancy.servers.get('crowded')).draining).toBe(true);
  });

  it('refuses hostile server ids, a drain into itself and a bad concurrency before any change', async () => {
    await tenancy.servers.undrain('crowded');
    for (const { family, value } of HOSTILE_STRING_CASES) {
      const what = `${family}: ${JSON.stringify(value.slice(0, 40))}`;
      await expect(tenancy.mobility.drain(value), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_ARGUMENT|SERVER_NOT_FOUND)$/),
      });
      await expect(tenancy.mobility.drain('crowded', { to: value }), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_ARGUMENT|SERVER_NOT_FOUND)$/),
      });
    }
    await expect(tenancy.mobility.drain('crowded', { to: 'crowded' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const concurrency of [0, -1, 1.5, 17, Number.NaN])
      await expect(tenancy.mobility.drain('crowded', { concurrency }), String(concurrency)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    expect((await tenancy.servers.get('crowded')).draining).toBe(false);
  });
});
