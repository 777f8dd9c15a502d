import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { setupHarness, MIGRATIONS } from './helpers.js';
import type { Tenancy, Tenant } from '../src/index.js';

// A child process migrates, rolls back or renames tenants and is SIGKILLed from outside between
// the statements of that work; then a start (createTenancy, which reconciles) must leave every
// tenant ACTIVE and usable at a consistent version — its ledger, its schema and the registry
// agreeing — or in a failed state with its data and a message saying what to do.

const h = await setupHarness();
const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const CHILD = 'tenantry-crash-child';

// The fixture's migrations plus a slow third one (and its slow down part): a statement has run,
// the next sleeps, the rest has not.
const dir = mkdtempSync(join(tmpdir(), 'tenantry-crash-'));
for (const f of ['0001_create_posts.sql', '0002_add_owner.sql']) copyFileSync(join(MIGRATIONS, f), join(dir, f));
writeFileSync(
  join(dir, '0003_tags.sql'),
  `create table tags (id serial primary key, name text not null);
select pg_sleep(0.8);
alter table posts add column tag_id int;
-- down
alter table posts drop column tag_id;
select pg_sleep(0.8);
drop table tags;
`,
);

type Action = 'migrate' | 'rollback' | 'rename';
/** Where the child is killed: while a tenant's migration sleeps between statements, or after its transaction committed, while its registry write waits. */
type KillAt = 'statement' | 'registry-write';

async function childBackends(where: string): Promise<number> {
  const { rows } = await h.admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where application_name like $1 and ${where}`,
    [`${CHILD}%`],
  );
  return rows[0]!.n;
}

async function until(what: string, check: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Runs `action` over `tenants` in a child process and SIGKILLs it at `killAt`. */
async function killedDuring(action: Action, tenants: readonly Tenant[], killAt: KillAt): Promise<void> {
  const script = `
    const { createTenancy } = await import(${JSON.stringify(core)});
    const tenancy = await createTenancy({ registryUrl: process.env.URL, migrations: process.env.MIGRATIONS, reconcileOnStart: false, applicationName: process.env.APP });
    const tenants = process.env.TENANTS.split(',');
    if (process.env.ACTION === 'migrate') await tenancy.migrate({ tenants, concurrency: 2, canary: 0 });
    else if (process.env.ACTION === 'rollback') await tenancy.rollback({ tenants, concurrency: 2 });
    else await tenancy.tenants.rename(tenants[0], tenants[0] + '-renamed');
    process.exit(3);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, URL: h.db.url, MIGRATIONS: dir, APP: CHILD, ACTION: action, TENANTS: tenants.map((t) => t.slug).join(',') },
    stdio: 'ignore',
  });
  const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  const blocker = new pg.Client(h.db.url);
  await blocker.connect();
  try {
    if (action === 'rename') {
      // The rename's one registry statement waits on the row: killed before it ran.
      await blocker.query('begin');
      await blocker.query('select 1 from tenantry.tenants where id = $1 for update', [tenants[0]!.id]);
      await until('the rename to wait', () => childBackends("wait_event_type = 'Lock'").then((n) => n > 0));
    } else {
      await until('a migration statement to run', () => childBackends("state = 'active' and query like '%pg_sleep%'").then((n) => n > 0));
      if (killAt === 'registry-write') {
        // The registry rows of the tenants being migrated now are held: their next registry write
        // is the one after their transaction committed, which then waits. (Tenants not marked
        // yet are not held, so that the wait is that write and not a mark.)
        await until('a MIGRATING tenant to hold', async () => {
          await blocker.query('begin');
          const held = await blocker.query(
            "select 1 from tenantry.tenants where id = any($1::uuid[]) and status = 'MIGRATING' for update",
            [tenants.map((t) => t.id)],
          );
          if ((held.rowCount ?? 0) > 0) return true;
          await blocker.query('rollback');
          return false;
        });
        await until('a committed tenant to wait for its registry write', () =>
          childBackends("wait_event_type = 'Lock'").then((n) => n > 0),
        );
      }
    }
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    expect(signal, `child should be killed (exit code ${code})`).toBe('SIGKILL');
  } finally {
    await blocker.end();
  }
}

/** Every tenant ACTIVE, its ledger, schema and registry agreeing, and usable as its role. */
async function assertConsistent(tenancy: Tenancy, tenants: readonly Tenant[], what: string): Promise<string[]> {
  const versions: string[] = [];
  for (const t of tenants) {
    const now = await tenancy.tenants.get(t.id);
    expect(now.status, `${what}: ${t.slug}`).toBe('ACTIVE');
    const { ledger, tags } = await tenancy.withTenant(t.id, async (db) => ({
      ledger: (await db.query<{ name: string }>('select name from _tenantry_migrations order by name')).rows.map((r) => r.name),
      tags: (
        await db.query<{ n: number }>(
          "select count(*)::int as n from information_schema.columns where column_name = 'tag_id' and table_schema = current_schema()",
        )
      ).rows[0]!.n,
    }));
    expect(now.schemaVersion, `${what}: ${t.slug}'s registry version is its ledger's`).toBe(ledger.at(-1));
    const mirror = (
      await h.admin.query<{ name: string }>('select name from tenantry.tenant_migrations where tenant_id = $1 order by name', [t.id])
    ).rows.map((r) => r.name);
    expect(mirror, `${what}: ${t.slug}'s registry mirror`).toEqual(ledger);
    // The schema is at the version the ledger says: the killed transaction committed whole or not at all.
    expect(tags, `${what}: ${t.slug}'s schema`).toBe(ledger.includes('0003_tags') ? 1 : 0);
    const rows = await tenancy.withTenant(t.id, async (db) => {
      await db.query('insert into posts (title) values ($1)', [what]);
      return (await db.query<{ title: string; who: string }>('select title, current_user as who from posts where title = $1', [what])).rows;
    });
    expect(rows.map((r) => r.title)).toEqual([what]);
    if (now.role !== null) expect(rows[0]!.who, `${what}: ${t.slug} runs as its role`).toBe(now.role);
    versions.push(ledger.at(-1)!);
  }
  return versions;
}

/** A start after the kill: reconcile (at start, then again while the killed backends let go) settles every tenant. */
async function restart(tenants: readonly Tenant[]): Promise<Tenancy> {
  const tenancy = await h.tenancy({ migrations: dir });
  await expect
    .poll(
      async () => {
        await tenancy.reconcile();
        const statuses = await Promise.all(tenants.map(async (t) => (await tenancy.tenants.get(t.id)).status));
        return statuses.filter((s) => s !== 'ACTIVE');
      },
      { timeout: 15_000, interval: 200 },
    )
    .toEqual([]);
  return tenancy;
}

describe('a process killed during migrate, rollback and rename', () => {
  it(
    'migrate and rollback killed between statements and before the registry write: the next start leaves every tenant ACTIVE, consistent and usable',
    { timeout: 240_000 },
    async () => {
      const setup = await h.tenancy();
      let n = 0;
      const fleet = async (): Promise<Tenant[]> => {
        const made: Tenant[] = [];
        for (const isolation of ['schema', 'database', 'schema', 'database'] as const)
          made.push(await setup.tenants.create({ slug: `mig-${n++}`, name: 'M', isolation }));
        return made;
      };
      for (const killAt of ['statement', 'registry-write'] as const) {
        // Killed while migrating 0003.
        const tenants = await fleet();
        await killedDuring('migrate', tenants, killAt);
        const left = await Promise.all(tenants.map(async (t) => (await setup.tenants.get(t.id)).status));
        expect(left, `migrate killed at ${killAt} leaves a tenant MIGRATING`).toContain('MIGRATING');
        const tenancy = await restart(tenants);
        const versions = await assertConsistent(tenancy, tenants, `migrate killed at ${killAt}`);
        if (killAt === 'registry-write') expect(versions, 'one tenant had committed 0003').toContain('0003_tags');
        // The next run brings every tenant to the last version.
        const run = await tenancy.migrate({ tenants: tenants.map((t) => t.id) });
        expect(run.ok, JSON.stringify(run.results.map((r) => r.error?.message))).toBe(true);
        expect(await assertConsistent(tenancy, tenants, `migrated after the kill at ${killAt}`)).toEqual(tenants.map(() => '0003_tags'));
        // Killed while rolling 0003 back.
        await killedDuring('rollback', tenants, killAt);
        const back = await restart(tenants);
        const after = await assertConsistent(back, tenants, `rollback killed at ${killAt}`);
        if (killAt === 'registry-write') expect(after, 'one tenant had committed its rollback').toContain('0002_add_owner');
      }
    },
  );

  it(
    'rename killed while its registry write waits: renamed whole or not at all, usable under its slug, the other slug free',
    { timeout: 60_000 },
    async () => {
      const tenancy = await h.tenancy();
      for (const isolation of ['schema', 'database'] as const) {
        const t = await tenancy.tenants.create({ slug: `ren-${isolation}`, name: 'R', isolation });
        await killedDuring('rename', [t], 'statement');
        const fresh = await h.tenancy();
        const now = await fresh.tenants.get(t.id);
        // The statement was sent before the kill: PostgreSQL may still run it once the row is free.
        expect([t.slug, `${t.slug}-renamed`]).toContain(now.slug);
        expect(now.status).toBe('ACTIVE');
        await fresh.withTenant(now.slug, (db) => db.query("insert into posts (title) values ('after the kill')"));
        const other = now.slug === t.slug ? `${t.slug}-renamed` : t.slug;
        await expect(fresh.tenants.get(other)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
        expect((await fresh.tenants.rename(now.slug, other)).slug).toBe(other);
        expect((await fresh.withTenant(other, (db) => db.query('select count(*)::int as n from posts'))).rows[0]).toEqual({ n: 1 });
      }
    },
  );
});
