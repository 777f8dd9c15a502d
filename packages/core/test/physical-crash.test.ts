import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setupHarness, MIGRATIONS } from './helpers.js';
import type { Tenancy } from '../src/index.js';

// A child process renames a tenant's schema or database and SIGKILLs itself at each step of the
// rename; then a start (createTenancy, which reconciles) must leave the tenant whole, usable and
// under exactly one name — the old one when the server had not renamed it, else the new one.

const h = await setupHarness();
const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const sfx = randomBytes(3).toString('hex');

async function killedAt(step: string, tenant: string, to: string): Promise<void> {
  const script = `
    const { createTenancy } = await import(${JSON.stringify(core)});
    const tenancy = await createTenancy({
      registryUrl: process.env.URL, migrations: process.env.MIGRATIONS, reconcileOnStart: false,
      onLifecycleStep: (step) => { if (step === process.env.STEP) process.kill(process.pid, 'SIGKILL'); },
    });
    await tenancy.tenants.renamePhysical(process.env.TENANT, process.env.TO);
    process.exit(3);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, URL: h.db.url, MIGRATIONS, STEP: step, TENANT: tenant, TO: to },
    stdio: 'ignore',
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  expect(signal, `child should die at ${step} (exit code ${code})`).toBe('SIGKILL');
}

async function exists(kind: 'schema' | 'database', name: string): Promise<boolean> {
  const sql = kind === 'schema' ? 'select 1 from pg_namespace where nspname = $1' : 'select 1 from pg_database where datname = $1';
  return (await h.admin.query(sql, [name])).rowCount === 1;
}
async function roleExists(name: string): Promise<boolean> {
  return (await h.admin.query('select 1 from pg_roles where rolname = $1', [name])).rowCount === 1;
}

describe('physical rename: crash safety', () => {
  it(
    'a process killed at every step of a rename, schema and database tenants: after a start the tenant is whole and usable under one name',
    { timeout: 240_000 },
    async () => {
      const tenancy: Tenancy = await h.tenancy();
      const cases = [
        { step: 'rename-marked', renamed: false },
        { step: 'container-renamed', renamed: true },
        { step: 'renamed', renamed: true },
      ] as const;
      let i = 0;
      for (const isolation of ['schema', 'database'] as const) {
        for (const c of cases) {
          const what = `a ${isolation} tenant's rename killed at ${c.step}`;
          const t = await tenancy.tenants.create({ slug: `crash-rn-${i}`, name: 'C', isolation });
          await tenancy.withTenant(t.id, (db) => db.query("insert into posts (title) values ('before')"));
          const to = `crashed_${i++}_${sfx}`;
          await killedAt(c.step, t.id, to);
          // A start reconciles; the killed backend lets go of its lifecycle lock a moment after the kill.
          const started = await h.tenancy();
          await expect
            .poll(async () => (await h.admin.query('select physical_rename_to from tenantry.tenants where id = $1', [t.id])).rows[0], {
              timeout: 20_000,
            })
            .toEqual({ physical_rename_to: null });
          if (c.step !== 'renamed') {
            const report = await started.reconcile();
            expect(report.orphans, what).toEqual([]);
          }
          const after = await started.tenants.get(t.id);
          const name = c.renamed ? to : t.physicalName;
          const gone = c.renamed ? t.physicalName : to;
          expect(after, what).toMatchObject({ status: 'ACTIVE', physicalName: name, role: name });
          expect(await exists(isolation, name), what).toBe(true);
          expect(await exists(isolation, gone), what).toBe(false);
          expect(await roleExists(name), what).toBe(true);
          expect(await roleExists(gone), what).toBe(false);
          const rows = await started.withTenant(t.id, async (db) => {
            await db.query("insert into posts (title) values ('after')");
            return (await db.query<{ title: string; who: string }>('select title, current_user as who from posts order by id')).rows;
          });
          expect(rows, what).toEqual([
            { title: 'before', who: name },
            { title: 'after', who: name },
          ]);
          const actions = (await started.tenants.activity(t.id)).map((a) => a.action);
          expect(actions.at(-1), what).toBe(c.renamed ? 'physical-rename' : 'physical-rename-undone');
          // The process that was running before the crash (its cache notified) works too.
          await expect
            .poll(() => tenancy.withTenant(t.id, async (db) => (await db.query('select count(*)::int as n from posts')).rows[0]), {
              timeout: 10_000,
            })
            .toEqual({ n: 2 });
        }
      }
    },
  );
});
