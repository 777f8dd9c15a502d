import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { migrationList, type MigrationProgress, type Tenancy, type Tenant } from '../src/index.js';

const h = await setupHarness();

const V1 = [{ name: '0001_posts', up: 'create table posts (id serial primary key, title text not null)', down: 'drop table posts' }];
const ADD_TAGS = {
  name: '0002_tags',
  up: `do $$ begin if exists (select 1 from posts where title = 'poison') then raise exception 'poisoned tenant'; end if; end $$;
       alter table posts add column tags text; create index posts_tags on posts (tags)`,
  down: 'drop index posts_tags; alter table posts drop column tags',
};
const V2 = [...V1, ADD_TAGS];

let group = 0;
/** A fresh set of tenants at V1, on their own Tenancy; `poison` marks the tenants whose migration to V2 fails. */
async function fleet(n: number, poison: number[] = []): Promise<{ tenants: Tenant[]; prefix: string }> {
  const prefix = `m${++group}`;
  const t1 = await h.tenancy({ migrations: migrationList(V1) });
  const tenants: Tenant[] = [];
  for (let i = 0; i < n; i++) {
    const t = await t1.tenants.create({ slug: `${prefix}-t${i}`, name: `T${i}` });
    if (poison.includes(i)) await t1.withTenant(t.id, (db) => db.query("insert into posts (title) values ('poison')"));
    tenants.push(t);
  }
  return { tenants, prefix };
}

async function hasTags(t: Tenant): Promise<boolean> {
  const { rowCount } = await h.admin.query(
    'select 1 from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = $3',
    [t.physicalName, 'posts', 'tags'],
  );
  return rowCount === 1;
}

async function statusOf(tenancy: Tenancy, t: Tenant) {
  const row = await tenancy.tenants.get(t.id);
  return { status: row.status, version: row.schemaVersion, error: row.errorMessage };
}

describe('migrations across tenants', () => {
  it("onError 'stop': tenants before the failure are migrated, the failing one is MIGRATION_FAILED, the rest untouched", async () => {
    const { tenants } = await fleet(5, [2]);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    const progress: MigrationProgress[] = [];
    const run = await tenancy.migrate({
      tenants: tenants.map((t) => t.id),
      concurrency: 1,
      onError: 'stop',
      onProgress: (p) => progress.push(p),
    });
    expect(run.ok).toBe(false);
    expect(run.results.map((r) => r.status)).toEqual(['migrated', 'migrated', 'failed', 'skipped', 'skipped']);
    expect(run.results[0]!.applied).toEqual(['0002_tags']);
    expect(run.results[2]!.error).toMatchObject({ code: 'MIGRATION_FAILED', message: expect.stringContaining('poisoned tenant') });
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((p) => p.total === 5)).toBe(true);
    expect(await Promise.all(tenants.map(hasTags))).toEqual([true, true, false, false, false]);
    expect(await statusOf(tenancy, tenants[0]!)).toEqual({ status: 'ACTIVE', version: '0002_tags', error: null });
    expect(await statusOf(tenancy, tenants[2]!)).toMatchObject({
      status: 'MIGRATION_FAILED',
      version: '0001_posts',
      error: expect.stringContaining('poisoned tenant'),
    });
    expect(await statusOf(tenancy, tenants[3]!)).toEqual({ status: 'ACTIVE', version: '0001_posts', error: null });
    const log = await tenancy.tenants.activity(tenants[2]!.id);
    expect(log.slice(-2).map((a) => [a.action, a.toStatus])).toEqual([
      ['migrate', 'MIGRATING'],
      ['migrate-failed', 'MIGRATION_FAILED'],
    ]);
    // Fix the data, rerun: the failed tenant and the skipped ones are migrated; the others are already done.
    await h.admin.query(`delete from "${tenants[2]!.physicalName}".posts where title = 'poison'`);
    const again = await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
    expect(again.results.map((r) => r.status)).toEqual(['up-to-date', 'up-to-date', 'migrated', 'migrated', 'migrated']);
    expect(await statusOf(tenancy, tenants[2]!)).toEqual({ status: 'ACTIVE', version: '0002_tags', error: null });
    await tenancy.withTenant(tenants[2]!.id, (db) => db.query('select tags from posts'));
  });

  it("onError 'continue': every other tenant is migrated", async () => {
    const { tenants } = await fleet(5, [1, 3]);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    const run = await tenancy.migrate({ tenants: tenants.map((t) => t.slug), concurrency: 2, onError: 'continue' });
    expect(run.results.map((r) => r.status)).toEqual(['migrated', 'failed', 'migrated', 'failed', 'migrated']);
    expect(run.counts).toMatchObject({ migrated: 3, failed: 2, skipped: 0 });
    expect(await Promise.all(tenants.map(hasTags))).toEqual([true, false, true, false, true]);
    for (const i of [1, 3]) expect((await statusOf(tenancy, tenants[i]!)).status).toBe('MIGRATION_FAILED');
  });

  it("onError 'rollback-all': this run's migrations are undone on the tenants it migrated, and no tenant is left failed", async () => {
    const { tenants } = await fleet(4, [2]);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    const run = await tenancy.migrate({ tenants: tenants.map((t) => t.id), concurrency: 1, onError: 'rollback-all' });
    expect(run.results.map((r) => r.status)).toEqual(['rolled-back', 'rolled-back', 'failed', 'skipped']);
    expect(run.results[0]!.applied).toEqual(['0002_tags']);
    expect(await Promise.all(tenants.map(hasTags))).toEqual([false, false, false, false]);
    for (const i of [0, 1, 2, 3])
      expect(await statusOf(tenancy, tenants[i]!)).toEqual({ status: 'ACTIVE', version: '0001_posts', error: null });
    await tenancy.withTenant(tenants[2]!.id, (db) => db.query('select title from posts'));
    const ledger = await h.admin.query(`select name from "${tenants[0]!.physicalName}"._tenantry_migrations order by name`);
    expect(ledger.rows.map((r) => r.name)).toEqual(['0001_posts']);
    const mirror = await h.admin.query('select name from tenantry.tenant_migrations where tenant_id = $1', [tenants[0]!.id]);
    expect(mirror.rows.map((r) => r.name)).toEqual(['0001_posts']);
  });

  it('a canary failure stops the run before any other tenant is touched', async () => {
    const { tenants } = await fleet(5, [0]);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    const run = await tenancy.migrate({ tenants: tenants.map((t) => t.id), canary: 2, onError: 'continue' });
    expect(run.results.map((r) => r.status)).toEqual(['failed', 'migrated', 'skipped', 'skipped', 'skipped']);
  });

  it('by default a bad migration takes one tenant out of service: a canary first, then at most one however many fail at once', async () => {
    const { tenants } = await fleet(6, [0, 1, 2, 3, 4, 5]);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    const ids = tenants.map((t) => t.id);
    const outOfService = async () => (await Promise.all(tenants.map((t) => statusOf(tenancy, t)))).filter((s) => s.status !== 'ACTIVE');
    // Defaults: concurrency 4, onError 'stop', a canary of one tenant.
    const run = await tenancy.migrate({ tenants: ids });
    expect(run.results.map((r) => r.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(await outOfService()).toHaveLength(1);
    await h.admin.query("update tenantry.tenants set status = 'ACTIVE', error_message = null where id = $1", [ids[0]]);
    // Without a canary, four tenants fail at once: one is taken out, the others stay in service at their version.
    const wide = await tenancy.migrate({ tenants: ids, canary: 0 });
    expect(wide.counts.failed).toBeGreaterThanOrEqual(2);
    const out = await outOfService();
    expect(out).toEqual([{ status: 'MIGRATION_FAILED', version: '0001_posts', error: expect.stringContaining('poisoned tenant') }]);
    for (const t of tenants) await tenancy.withTenant(t.id, (db) => db.query('select 1 from posts')).catch(() => undefined);
  });

  it('a tenant a migration failed on says its data is intact and how to retry; migrate brings it back once nothing is pending', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-walk-'));
    await writeFile(join(dir, '0001_posts.sql'), V1[0]!.up);
    const { tenants } = await fleet(3);
    const tenancy = await h.tenancy({ migrations: dir });
    await tenancy.withTenant(tenants[0]!.id, (db) => db.query("insert into posts (title) values ('kept')"));
    const ids = tenants.map((t) => t.id);
    // A broken file: the canary fails, no other tenant is touched.
    await writeFile(join(dir, '0002_broken.sql'), 'alter table no_such_table add column x int');
    const run = await tenancy.migrate({ tenants: ids });
    expect(run.results.map((r) => r.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(await statusOf(tenancy, tenants[0]!)).toMatchObject({ status: 'MIGRATION_FAILED', version: '0001_posts' });
    const refused = await tenancy.withTenant(tenants[0]!.id, (db) => db.query('select 1')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'TENANT_MIGRATION_FAILED', context: { tenant: tenants[0]!.slug } });
    expect((refused as Error).message).toMatch(/migration '0002_broken' failed.*data is intact at version 0001_posts.*migrate/);
    expect((refused as Error).message).not.toMatch(/delete/);
    // The data is there.
    expect((await h.admin.query(`select title from "${tenants[0]!.physicalName}".posts`)).rows).toEqual([{ title: 'kept' }]);
    expect((await tenancy.migrationStatus()).failed.map((f) => f.id).filter((id) => ids.includes(id))).toEqual([ids[0]]);
    // The broken file removed: nothing is pending any more, and migrate brings the tenant back.
    await rm(join(dir, '0002_broken.sql'));
    const fixed = await tenancy.migrate({ tenants: ids });
    expect(fixed.ok).toBe(true);
    expect(await statusOf(tenancy, tenants[0]!)).toEqual({ status: 'ACTIVE', version: '0001_posts', error: null });
    expect(await tenancy.withTenant(tenants[0]!.id, async (db) => (await db.query('select title from posts')).rows)).toEqual([
      { title: 'kept' },
    ]);
    // Broken again, then corrected: tenants.resume retries the tenant's migration.
    await writeFile(join(dir, '0002_tags.sql'), 'alter table no_such_table add column x int');
    await tenancy.migrate({ tenants: ids });
    expect((await statusOf(tenancy, tenants[0]!)).status).toBe('MIGRATION_FAILED');
    await expect(tenancy.tenants.resume(tenants[0]!.id)).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    expect((await statusOf(tenancy, tenants[0]!)).status).toBe('MIGRATION_FAILED');
    await writeFile(join(dir, '0002_tags.sql'), 'alter table posts add column tags text');
    const resumed = await tenancy.tenants.resume(tenants[0]!.id);
    expect(resumed).toMatchObject({ status: 'ACTIVE', schemaVersion: '0002_tags' });
    await tenancy.withTenant(tenants[0]!.id, (db) => db.query('select tags from posts'));
  });

  it('a running process provisions with the migrations it loaded; a new file reaches new tenants only after migrate()', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-pin-'));
    await writeFile(join(dir, '0001_posts.sql'), V1[0]!.up);
    const tenancy = await h.tenancy({ migrations: dir });
    await writeFile(join(dir, '0002_broken.sql'), 'alter table no_such_table add column x int');
    const before = await tenancy.tenants.create({ slug: `pin-a${group}`, name: 'A' });
    expect(before).toMatchObject({ status: 'ACTIVE', schemaVersion: '0001_posts' });
    await writeFile(join(dir, '0002_broken.sql'), 'alter table posts add column tags text');
    const run = await tenancy.migrate({ tenants: [before.id] });
    expect(run.results.map((r) => r.status)).toEqual(['migrated']);
    const after = await tenancy.tenants.create({ slug: `pin-b${group}`, name: 'B' });
    expect(after).toMatchObject({ status: 'ACTIVE', schemaVersion: '0002_broken' });
  });

  it('dry run reports what is pending from the registry alone and changes nothing', async () => {
    const { tenants } = await fleet(3);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    // Registry lookups only: one per named tenant and one for the whole set. Migrating a tenant
    // would take several checkouts of its own.
    const registryQueries = tenants.length + 1;
    const before = tenancy.stats().servers[0]!.checkouts;
    const run = await tenancy.migrate({ tenants: tenants.map((t) => t.id), dryRun: true });
    expect(run.results.map((r) => [r.status, r.applied])).toEqual(Array(3).fill(['pending', ['0002_tags']]));
    expect(tenancy.stats().servers[0]!.checkouts - before).toBeLessThanOrEqual(registryQueries);
    expect(await Promise.all(tenants.map(hasTags))).toEqual([false, false, false]);
    const status = await tenancy.migrationStatus();
    expect(status.latest).toBe('0002_tags');
    expect(status.pending).toBeGreaterThanOrEqual(3);
    // Once migrated, "nothing pending" is known without connecting to any tenant.
    await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
    const checkouts = tenancy.stats().servers[0]!.checkouts;
    const noop = await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
    expect(noop.results.map((r) => r.status)).toEqual(['up-to-date', 'up-to-date', 'up-to-date']);
    expect(tenancy.stats().servers[0]!.checkouts - checkouts).toBeLessThanOrEqual(registryQueries);
  });

  it('an applied migration whose file changed is reported until repaired', async () => {
    const { tenants } = await fleet(2);
    const edited = [{ ...V1[0]!, up: `${V1[0]!.up} -- edited` }, ADD_TAGS];
    const tenancy = await h.tenancy({ migrations: migrationList(edited) });
    const run = await tenancy.migrate({ tenants: tenants.map((t) => t.id), canary: 0 });
    expect(run.results.map((r) => r.error?.code)).toEqual(['MIGRATION_CHECKSUM_MISMATCH', 'MIGRATION_CHECKSUM_MISMATCH']);
    expect(run.results[0]!.error!.message).toMatch(/repairMigrations/);
    // Refused before anything ran: the tenant stays ACTIVE and unmigrated.
    expect(await statusOf(tenancy, tenants[0]!)).toMatchObject({ status: 'ACTIVE', version: '0001_posts' });
    expect(await hasTags(tenants[0]!)).toBe(false);
    const repaired = await tenancy.repairMigrations({ tenants: tenants.map((t) => t.id) });
    expect(repaired.results[0]!.applied).toEqual(['0001_posts']);
    const after = await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
    expect(after.results.map((r) => r.status)).toEqual(['migrated', 'migrated']);
  });

  it('two migrators started together apply each migration to each tenant exactly once', async () => {
    const { tenants } = await fleet(6);
    const a = await h.tenancy({ migrations: migrationList(V2) });
    const b = await h.tenancy({ migrations: migrationList(V2) });
    const ids = tenants.map((t) => t.id);
    const [ra, rb] = await Promise.all([a.migrate({ tenants: ids, concurrency: 3 }), b.migrate({ tenants: ids, concurrency: 3 })]);
    expect(ra.ok && rb.ok).toBe(true);
    for (let i = 0; i < tenants.length; i++) {
      const pair = [ra.results[i]!.status, rb.results[i]!.status].sort();
      expect(pair).toEqual(['migrated', 'up-to-date']);
    }
    expect(await Promise.all(tenants.map(hasTags))).toEqual(Array(6).fill(true));
  });

  it('a migrator killed mid-run is finished by a rerun', async () => {
    const { tenants } = await fleet(4);
    const slow = [...V1, { name: '0002_slow', up: 'select pg_sleep(0.3); alter table posts add column slow int' }];
    const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const { createTenancy, migrationList } = await import(${JSON.stringify(core)});
      const tenancy = await createTenancy({ registryUrl: process.env.URL, migrations: migrationList(JSON.parse(process.env.MIGRATIONS)) });
      await tenancy.migrate({ tenants: JSON.parse(process.env.TENANTS), concurrency: 1 });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, URL: h.db.url, MIGRATIONS: JSON.stringify(slow), TENANTS: JSON.stringify(tenants.map((t) => t.id)) },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('exit', r));
    // Kill it once the first tenant is done and the second is under way.
    await expect
      .poll(
        async () => (await h.admin.query("select count(*)::int as n from tenantry.tenant_migrations where name = '0002_slow'")).rows[0].n,
        { timeout: 20_000, interval: 20 },
      )
      .toBeGreaterThanOrEqual(1);
    await expect
      .poll(
        async () =>
          (
            await h.admin.query("select count(*)::int as n from tenantry.tenants where status = 'MIGRATING' and id = any($1)", [
              tenants.map((t) => t.id),
            ])
          ).rows[0].n,
        { timeout: 20_000, interval: 10 },
      )
      .toBe(1);
    child.kill('SIGKILL');
    await exited;
    // Without the reconcile at start (which settles it too: crash-migrate.test.ts), the rerun alone finishes it.
    const tenancy = await h.tenancy({ migrations: migrationList(slow), reconcileOnStart: false });
    const stuck = (await tenancy.migrationStatus()).migrating;
    expect(stuck).toBe(1);
    const rerun = await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
    expect(rerun.ok).toBe(true);
    expect(rerun.counts.migrated + rerun.counts['up-to-date']).toBe(4);
    expect(rerun.counts.migrated).toBeGreaterThanOrEqual(2);
    for (const t of tenants) expect(await statusOf(tenancy, t)).toEqual({ status: 'ACTIVE', version: '0002_slow', error: null });
  });

  it('rollback undoes the last migration; an irreversible one is reported', async () => {
    const { tenants } = await fleet(2);
    const tenancy = await h.tenancy({ migrations: migrationList(V2) });
    await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
    const back = await tenancy.rollback({ steps: 1, tenants: tenants.map((t) => t.id) });
    expect(back.results.map((r) => [r.status, r.applied])).toEqual([
      ['rolled-back', ['0002_tags']],
      ['rolled-back', ['0002_tags']],
    ]);
    expect(await hasTags(tenants[0]!)).toBe(false);
    expect((await statusOf(tenancy, tenants[0]!)).version).toBe('0001_posts');
    const noDown = await h.tenancy({ migrations: migrationList([{ name: '0001_posts', up: V1[0]!.up }]) });
    const refused = await noDown.rollback({ tenants: [tenants[0]!.id] });
    expect(refused.results[0]!.error).toMatchObject({ code: 'MIGRATION_IRREVERSIBLE' });
    await expect(tenancy.rollback({ steps: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('work across tenants', () => {
  it('forEachTenant and runSql return a result per tenant, failures included', async () => {
    const { tenants, prefix } = await fleet(3);
    const tenancy = await h.tenancy({ migrations: migrationList(V1) });
    await tenancy.withTenant(tenants[1]!.id, (db) => db.query("insert into posts (title) values ('only one')"));
    const ids = tenants.map((t) => t.id);
    const counts = await tenancy.forEachTenant(
      async (db) => (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0]!.n,
      { tenants: ids },
    );
    expect(counts.map((r) => [r.tenant.slug, r.status, r.value])).toEqual([
      [`${prefix}-t0`, 'ok', 0],
      [`${prefix}-t1`, 'ok', 1],
      [`${prefix}-t2`, 'ok', 0],
    ]);
    const ran = await tenancy.runSql('select 1 / (count(*) - 1) as x from posts', [], { tenants: ids });
    expect(ran.map((r) => r.status)).toEqual(['ok', 'failed', 'ok']);
    expect(ran[1]!.error).toMatchObject({ code: '22012' });
    const all = await tenancy.runSql('select $1::int as v', [7]);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.every((r) => r.status === 'ok' && r.value!.rows[0]!.v === 7)).toBe(true);
  });

  it('seeds run at create and on demand, idempotently', async () => {
    const seeds = fileURLToPath(new URL('./fixtures/seeds', import.meta.url));
    const tenancy = await h.tenancy({ seeds });
    const t = await tenancy.tenants.create({ slug: 'seeded', name: 'Seeded' });
    const titles = async () =>
      (await tenancy.withTenant(t.id, (db) => db.query<{ title: string }>('select title from posts order by id'))).rows.map((r) => r.title);
    expect(await titles()).toEqual(['Welcome', 'Draft']);
    const ran = await tenancy.seed({ tenants: [t.id] });
    expect(ran[0]).toMatchObject({ status: 'ok', value: ['0001_welcome'] });
    expect(await titles()).toEqual(['Welcome', 'Draft']);
    const none = await h.tenancy();
    await expect(none.seed()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
