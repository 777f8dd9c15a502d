import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_STRING_CASES, startEmbeddedServer, TEST_SERVER_FLAGS, type EmbeddedServer } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import {
  backupToBuffer,
  fill,
  mobilityMigrations,
  nextValues,
  snapshotOf,
  streamOf,
  containers as containersOf,
} from './mobility-fixture.js';
import type { Tenancy } from '../src/index.js';

const h = await setupHarness();
const MIGRATIONS = mobilityMigrations();
const KEY = randomBytes(32).toString('hex');
let other: EmbeddedServer;
let tenancy: Tenancy;

beforeAll(async () => {
  other = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
  tenancy = await h.tenancy({ migrations: MIGRATIONS, encryptionKey: KEY });
  await tenancy.servers.add({ id: 'other', url: other.url });
}, 60_000);
afterAll(async () => {
  await tenancy?.close();
  await other?.stop();
});

const containers = (url: string): Promise<string[]> => containersOf(url, h.db.url);

describe('backup and restore of one tenant', () => {
  it('a round trip into a new schema tenant and a new database tenant gives identical rows and sequence positions', async () => {
    const src = await tenancy.tenants.create({ slug: 'rt-src', name: 'Round trip', server: 'default' });
    await fill(tenancy, 'rt-src');
    const before = await snapshotOf(tenancy, 'rt-src');
    const { archive, manifest } = await backupToBuffer(tenancy, 'rt-src');
    expect(manifest.tenant.slug).toBe('rt-src');
    expect(manifest.tier).toBe('schema');
    expect(manifest.ledger.map((l) => l.name)).toEqual(['0001_types', '0002_scratch_column', '0003_comments']);
    expect(manifest.serverVersion).toBeGreaterThanOrEqual(150000);
    expect(Object.fromEntries(manifest.tableData.map((t) => [t.name, t.rows]))).toEqual({ authors: 3, comments: 12, posts: 38 });

    for (const [slug, isolation, server] of [
      ['rt-schema', 'schema', 'default'],
      ['rt-database', 'database', 'other'],
    ] as const) {
      const restored = await tenancy.mobility.restore(streamOf(archive), { slug, isolation, server });
      expect(restored).toMatchObject({ status: 'ACTIVE', isolation, server, schemaVersion: '0003_comments', name: 'Round trip' });
      expect(restored.id).not.toBe(src.id);
      expect(await snapshotOf(tenancy, slug), `${isolation} copy`).toEqual(before);
      const activity = await tenancy.tenants.activity(slug);
      expect(activity.at(-1)).toMatchObject({ action: 'restored', toStatus: 'ACTIVE' });
      expect(activity.at(-1)!.detail).toMatchObject({ dataChecksum: manifest.dataChecksum, tables: 3 });
    }
    // The sequences hand out the same next values in the source and in each copy.
    const next = await nextValues(tenancy, 'rt-src');
    expect(await nextValues(tenancy, 'rt-schema')).toEqual(next);
    expect(await nextValues(tenancy, 'rt-database')).toEqual(next);
    // Keys, constraints and indexes, made again after the data, are exactly what the migrations make:
    // a backup of each copy passes the drift check, and a duplicate key is refused.
    for (const slug of ['rt-schema', 'rt-database']) await expect(backupToBuffer(tenancy, slug), slug).resolves.toBeDefined();
    await expect(
      tenancy.withTenant('rt-schema', (db) => db.query('insert into comments select post_id, n from comments limit 1')),
    ).rejects.toMatchObject({
      code: '23505',
    });
    // The copy's constraints and triggers are back: a dangling reference fails, the trigger runs.
    await expect(tenancy.withTenant('rt-database', (db) => db.query('insert into comments values (999999, 1)'))).rejects.toMatchObject({
      code: '23503',
    });
    const touched = await tenancy.withTenant('rt-schema', (db) =>
      db.query(`update posts set title = 'x' where id = 1 returning updated_at`),
    );
    expect(touched.rows[0]!['updated_at']).not.toBeNull();
  });

  it('a tenant whose catalog was changed by hand is refused with CATALOG_DRIFTED, naming what drifted', async () => {
    const t = await tenancy.tenants.create({ slug: 'drifted', name: 'D', server: 'default' });
    await h.admin.query(`alter table ${t.physicalName}.posts add column hand_made int`);
    await h.admin.query(`drop index ${t.physicalName}.posts_author`);
    const err = await backupToBuffer(tenancy, 'drifted').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CATALOG_DRIFTED' });
    expect((err as Error).message).toMatch(/not made by its migrations: column posts\.hand_made integer/);
    expect((err as Error).message).toMatch(/missing: index CREATE INDEX posts_author ON posts/);
    // A tenant that did not drift backs up.
    await tenancy.tenants.create({ slug: 'not-drifted', name: 'D', server: 'default' });
    await expect(backupToBuffer(tenancy, 'not-drifted')).resolves.toBeDefined();
  });

  it('a truncated, corrupted or foreign archive is refused with ARCHIVE_INVALID and leaves nothing behind', async () => {
    await tenancy.tenants.create({ slug: 'bad-src', name: 'B', server: 'default' });
    await fill(tenancy, 'bad-src', 5);
    const { archive } = await backupToBuffer(tenancy, 'bad-src');
    const flipped = Buffer.from(archive);
    // A byte inside the data of the second table (well past the header).
    flipped[Math.floor(archive.length * 0.6)]! ^= 0xff;
    const before = await containers(h.db.url);
    for (const [what, bytes] of [
      ['truncated', archive.subarray(0, archive.length - 40)],
      ['corrupted', flipped],
      ['not an archive', Buffer.from('PGDMP\0\0\0 a pg_dump custom archive')],
      ['empty', Buffer.alloc(0)],
    ] as const) {
      const err = await tenancy.mobility.restore(streamOf(bytes), { slug: 'bad-dst', server: 'default' }).catch((e: unknown) => e);
      expect(err, what).toMatchObject({ code: expect.stringMatching(/^(ARCHIVE_INVALID|22P04|08P01|22P03)$/) });
      await expect(tenancy.tenants.get('bad-dst'), `${what}: the slug is free`).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      expect(await containers(h.db.url), `${what}: no schema is left`).toEqual(before);
    }
  });

  it('a restore in place replaces the data, keeps the id, slug and domains, and drops the old copy', async () => {
    const t = await tenancy.tenants.create({ slug: 'in-place', name: 'I', server: 'default' });
    await tenancy.tenants.addDomain('in-place', 'in-place.example.com');
    await fill(tenancy, 'in-place', 10);
    const archived = await snapshotOf(tenancy, 'in-place');
    const { archive } = await backupToBuffer(tenancy, 'in-place');
    await tenancy.withTenant('in-place', async (db) => {
      await db.query('delete from comments');
      await db.query('delete from posts');
      await db.query(`select nextval('invoice_no')`);
    });
    const restored = await tenancy.mobility.restoreInPlace('in-place', streamOf(archive));
    expect(restored).toMatchObject({ id: t.id, slug: 'in-place', status: 'ACTIVE', isolation: 'schema' });
    expect(restored.physicalName).not.toBe(t.physicalName);
    expect(await snapshotOf(tenancy, 'in-place')).toEqual(archived);
    expect(await tenancy.tenants.domains('in-place')).toEqual(['in-place.example.com']);
    expect(await containers(h.db.url)).not.toContain(t.physicalName);
    expect((await tenancy.tenants.activity('in-place')).map((a) => a.action)).toEqual(
      expect.arrayContaining(['restore-suspend', 'restored']),
    );
  });
});

describe('clone and move', () => {
  it('a clone is a new tenant with the same data at one snapshot; the source keeps serving', async () => {
    await tenancy.tenants.create({ slug: 'template', name: 'Template', server: 'default' });
    await fill(tenancy, 'template', 12);
    const before = await snapshotOf(tenancy, 'template');
    const demo = await tenancy.mobility.clone('template', { slug: 'demo-1', name: 'Demo 1', server: 'default' });
    expect(demo).toMatchObject({ slug: 'demo-1', name: 'Demo 1', status: 'ACTIVE' });
    expect(await snapshotOf(tenancy, 'demo-1')).toEqual(before);
    expect((await tenancy.tenants.get('template')).status).toBe('ACTIVE');
    expect((await tenancy.tenants.activity('demo-1')).at(-1)).toMatchObject({ action: 'cloned' });
  });

  it('a move schema → database on another server and back keeps every row and sequence, retains the old copy, and purge-moved drops it', async () => {
    const t = await tenancy.tenants.create({ slug: 'mover', name: 'Mover', server: 'default' });
    await fill(tenancy, 'mover', 20);
    const before = await snapshotOf(tenancy, 'mover');
    const moved = await tenancy.mobility.move('mover', { server: 'other', isolation: 'database', retainHours: 1 });
    expect(moved.tenant).toMatchObject({ id: t.id, slug: 'mover', status: 'ACTIVE', server: 'other', isolation: 'database' });
    expect(moved.from).toEqual({ server: 'default', isolation: 'schema' });
    expect(moved.pauseMs).toBeGreaterThan(0);
    expect(await snapshotOf(tenancy, 'mover')).toEqual(before);
    // The old copy is kept, suspended, until its retention ends.
    expect(await containers(h.db.url)).toContain(t.physicalName);
    const oldRow = await h.admin.query('select status, kind from tenantry.tenants where id = $1', [moved.oldCopy]);
    expect(oldRow.rows[0]).toEqual({ status: 'SUSPENDED', kind: 'copy' });
    expect(await tenancy.mobility.purgeMoved()).toEqual([]);
    const purged = await tenancy.mobility.purgeMoved({ now: new Date(Date.now() + 2 * 3_600_000) });
    expect(purged).toEqual([{ tenant: t.id, oldCopy: moved.oldCopy }]);
    expect(await containers(h.db.url)).not.toContain(t.physicalName);
    // And back, dropping the old copy at once.
    const back = await tenancy.mobility.move('mover', { server: 'default', isolation: 'schema', retainHours: 0 });
    expect(back.tenant).toMatchObject({ server: 'default', isolation: 'schema' });
    expect(back.oldCopy).toBeNull();
    expect(await snapshotOf(tenancy, 'mover')).toEqual(before);
    expect(await containers(other.url)).not.toContain(moved.tenant.physicalName);
    expect(await nextValues(tenancy, 'mover')).toHaveLength(3);
  });
});

describe('hostile input', () => {
  it('every new argument refuses hostile strings before any SQL runs, and nothing is created', async () => {
    await tenancy.tenants.create({ slug: 'hostile-src', name: 'H', server: 'default' });
    const { archive } = await backupToBuffer(tenancy, 'hostile-src');
    const before = await containers(h.db.url);
    const countTenants = async (): Promise<number> => Number((await h.admin.query('select count(*) as n from tenantry.tenants')).rows[0].n);
    const tenantsBefore = await countTenants();
    for (const { family, value } of HOSTILE_STRING_CASES) {
      const what = `${family}: ${JSON.stringify(value.slice(0, 40))}`;
      await expect(tenancy.mobility.restore(streamOf(archive), { slug: value }), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_TENANT_ID|INVALID_ARGUMENT)$/),
      });
      await expect(tenancy.mobility.restore(streamOf(archive), { slug: 'ok-slug', server: value }), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_ARGUMENT|SERVER_NOT_FOUND)$/),
      });
      await expect(tenancy.mobility.clone('hostile-src', { slug: 'ok-slug', isolation: value as 'schema' }), what).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(tenancy.mobility.move('hostile-src', { server: value }), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_ARGUMENT|SERVER_NOT_FOUND)$/),
      });
      await expect(tenancy.mobility.move('hostile-src', { isolation: value as 'schema' }), what).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(tenancy.mobility.backup(value, process.stdout), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_TENANT_ID|TENANT_NOT_FOUND)$/),
      });
    }
    expect(await countTenants()).toBe(tenantsBefore);
    expect(await containers(h.db.url)).toEqual(before);
    expect((await tenancy.tenants.get('hostile-src')).status).toBe('ACTIVE');
  });
});
