import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { setupHarness } from './helpers.js';

// A child process applies shared migrations and is SIGKILLed while one of them sleeps between
// its statements: the server's database and the tenant database are left with that migration
// applied whole (tables and ledger row) or not at all, and the next run applies it.

const h = await setupHarness();
const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const CHILD = 'tenantry-shared-crash';

async function until(what: string, check: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

async function childBackends(where: string): Promise<number> {
  const { rows } = await h.admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where application_name like $1 and ${where}`,
    [`${CHILD}%`],
  );
  return rows[0]!.n;
}

it.each([
  ["the server's own database", 0],
  ['a tenant database', 1],
] as const)(
  'a shared migration killed between its statements in %s is applied whole or not at all, and the next run finishes it',
  async (_, killed) => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-shared-crash-'));
    writeFileSync(join(dir, '0001_plans.sql'), 'create table plans (id text primary key);');
    const tenancy = await h.tenancy({ sharedMigrations: dir });
    const schemaTenant = await tenancy.tenants.create({ slug: `crash-schema-${killed}`, name: 'Schema' });
    const dbTenant = await tenancy.tenants.create({ slug: `crash-db-${killed}`, name: 'Database', isolation: 'database' });
    // Earlier cases' tenant databases are done already: this run's targets are the server and dbTenant.
    writeFileSync(
      join(dir, '0002_regions.sql'),
      `create table regions (id text primary key);
select pg_sleep(0.8);
create table zones (id text primary key);`,
    );
    const script = `
    const { createTenancy } = await import(${JSON.stringify(core)});
    const tenancy = await createTenancy({ registryUrl: process.env.URL, sharedMigrations: process.env.SHARED, reconcileOnStart: false, applicationName: process.env.APP });
    await tenancy.migrateShared({ concurrency: 1 });
    process.exit(3);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, URL: h.db.url, SHARED: dir, APP: CHILD },
      stdio: 'ignore',
    });
    const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    const where = killed === 0 ? `datname = '${h.db.name}'` : `datname = '${dbTenant.physicalName}'`;
    await until('the shared migration to sleep between its statements', () =>
      childBackends(`state = 'active' and query like '%pg_sleep%' and ${where}`).then((n) => n > 0),
    );
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    expect(signal, `child should be killed (exit code ${code})`).toBe('SIGKILL');
    // The killed backend ends once its sleep returns and it finds the client gone.
    await until('the child backends to end', () => childBackends('true').then((n) => n === 0));

    const state = async (): Promise<{ target: string; ledger: string[]; tables: string[] }[]> => {
      const out = [];
      for (const t of [schemaTenant, dbTenant]) {
        const { rows } = await tenancy.withTenant(t.id, (db) =>
          db.query<{ ledger: string[]; tables: string[] }>(
            `select array(select name from shared._tenantry_shared_migrations order by name) as ledger,
                  array(select tablename::text from pg_tables where schemaname = 'shared' and tablename in ('plans', 'regions', 'zones') order by 1) as tables`,
          ),
        );
        out.push({ target: t.slug, ...rows[0]! });
      }
      return out;
    };
    const after = await state();
    // The killed database has nothing of 0002; one migrated before the kill has all of it.
    expect(after[killed]).toMatchObject({ ledger: ['0001_plans'], tables: ['plans'] });
    if (killed === 1) expect(after[0]).toMatchObject({ ledger: ['0001_plans', '0002_regions'], tables: ['plans', 'regions', 'zones'] });

    const run = await tenancy.migrateShared();
    expect(run.ok).toBe(true);
    for (const s of await state())
      expect(s, s.target).toMatchObject({ ledger: ['0001_plans', '0002_regions'], tables: ['plans', 'regions', 'zones'] });
  },
);
