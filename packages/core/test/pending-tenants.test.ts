import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { setupHarness, MIGRATIONS, codeOf } from './helpers.js';
import { isTenantryError, type Tenancy } from '../src/index.js';

const h = await setupHarness();
const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Pending rows of the registry, as the database has them (not as Tenantry reports them). */
async function pendingRows(): Promise<
  { id: string; status: string; isolation: string; physical_name: string; schema_version: string | null }[]
> {
  const { rows } = await h.admin.query(
    `select id, status, isolation, physical_name, schema_version from tenantry.tenants where kind = 'pending' and status <> 'DELETED' order by seq`,
  );
  return rows;
}

async function exists(kind: string, name: string): Promise<boolean> {
  const sql = kind === 'schema' ? 'select 1 from pg_namespace where nspname = $1' : 'select 1 from pg_database where datname = $1';
  return (await h.admin.query(sql, [name])).rowCount === 1;
}

/**
 * Closes `tenancy` (its pool refills no more), then empties the pool: lowering it to nothing
 * trims it. Every test starts from an empty pool.
 */
async function discardAll(...tenancies: Tenancy[]): Promise<void> {
  for (const t of tenancies) await t.close();
  const t = await h.tenancy({ pendingTenants: { schema: 0, database: 0 } });
  await t.tenants.fillPending();
  await t.close();
}

describe('the pending-tenant pool', () => {
  it('keeps tenants ready per isolation, never lists or resolves them, and a create claims one that then works', async () => {
    const tenancy = await h.tenancy({ pendingTenants: { schema: 2, database: 1 } });
    await tenancy.tenants.fillPending();
    const pending = await pendingRows();
    expect(pending.map((p) => [p.status, p.isolation, p.schema_version])).toEqual([
      ['ACTIVE', 'schema', '0002_add_owner'],
      ['ACTIVE', 'schema', '0002_add_owner'],
      ['ACTIVE', 'database', '0002_add_owner'],
    ]);
    expect((await tenancy.tenants.list()).items).toEqual([]);
    expect((await tenancy.tenants.countByStatus()).ACTIVE).toBe(0);
    // Not routable by id, nor by the slug it has in the registry.
    expect(await codeOf(() => tenancy.withTenant(pending[0]!.id, async () => undefined))).toBe('TENANT_NOT_FOUND');
    expect(await codeOf(() => tenancy.withTenant(`pending.${pending[0]!.id}`, async () => undefined))).toMatch(
      /TENANT_NOT_FOUND|INVALID_SLUG|INVALID_TENANT_ID/,
    );
    expect(await codeOf(() => tenancy.tenants.get(pending[0]!.id))).toBe('TENANT_NOT_FOUND');

    const acme = await tenancy.tenants.create({ slug: 'pool-acme', name: 'Acme', plan: 'pro', metadata: { a: 1 } });
    expect(acme.id).toBe(pending[0]!.id);
    expect(acme).toMatchObject({
      slug: 'pool-acme',
      name: 'Acme',
      plan: 'pro',
      metadata: { a: 1 },
      status: 'ACTIVE',
      schemaVersion: '0002_add_owner',
    });
    const db = await tenancy.tenants.create({ slug: 'pool-db', name: 'Db', isolation: 'database' });
    expect(db.id).toBe(pending[2]!.id);
    for (const t of [acme, db]) {
      const rows = await tenancy.withTenant(t.slug, async (q) => {
        await q.query("insert into posts (title) values ('hello')");
        return (await q.query<{ title: string; who: string }>('select title, current_user as who from posts')).rows;
      });
      expect(rows).toEqual([{ title: 'hello', who: t.physicalName }]);
    }
    expect((await tenancy.tenants.activity(acme.id)).map((a) => a.action)).toEqual(['create', 'provisioned', 'claimed']);
    expect((await tenancy.tenants.list()).items.map((t) => t.slug).sort()).toEqual(['pool-acme', 'pool-db']);

    // Refilled after use (in the background; fillPending waits for it).
    await tenancy.tenants.fillPending();
    const stats = await tenancy.tenants.pendingPool();
    expect(stats).toMatchObject({ size: { schema: 2, database: 1 }, claims: 2 });
    expect(stats!.servers).toEqual([
      { server: 'default', isolation: 'database', ready: 1, total: 1 },
      { server: 'default', isolation: 'schema', ready: 2, total: 2 },
    ]);
    await discardAll(tenancy);
  });

  it('a taken slug leaves the pending tenant pending; strict, physically named and unpooled creates provision as usual', async () => {
    const tenancy = await h.tenancy({ pendingTenants: { schema: 1 } });
    await tenancy.tenants.fillPending();
    const [ready] = await pendingRows();
    await tenancy.tenants.create({ slug: 'pool-taken', name: 'T', isolation: 'database' });
    expect((await pendingRows()).map((p) => p.id)).toEqual([ready!.id]); // a database create: not pooled
    expect(await codeOf(() => tenancy.tenants.create({ slug: 'pool-taken', name: 'T2' }))).toBe('TENANT_EXISTS');
    expect((await pendingRows()).map((p) => [p.id, p.status])).toEqual([[ready!.id, 'ACTIVE']]);
    const named = await tenancy.tenants.create({ slug: 'pool-named', name: 'N', physicalName: 'pool_named_tenant' });
    expect(named.physicalName).toBe('pool_named_tenant');
    expect((await pendingRows()).map((p) => p.id)).toEqual([ready!.id]);
    await discardAll(tenancy);
  });

  it('pending tenants are migrated with the others and claimed only at the latest migration', async () => {
    const files = readdirSync(MIGRATIONS).sort();
    // The first migration of the set, alone, in a folder of its own (read like any folder).
    const first = mkdtempSync(join(tmpdir(), 'tenantry-pending-'));
    copyFileSync(join(MIGRATIONS, files[0]!), join(first, files[0]!));
    const old = await h.tenancy({ migrations: first, pendingTenants: { schema: 1 } });
    await old.tenants.fillPending();
    expect((await pendingRows()).map((p) => p.schema_version)).toEqual(['0001_create_posts']);
    await old.close();

    // A process with the newer set: the pool is full, but what it holds is behind.
    const tenancy = await h.tenancy({ pendingTenants: { schema: 1 } });
    await tenancy.tenants.fillPending();
    const behind = await pendingRows();
    const fresh = await tenancy.tenants.create({ slug: 'pool-miss', name: 'M' });
    expect(fresh.id).not.toBe(behind[0]!.id);
    expect((await tenancy.tenants.pendingPool())!.misses).toBe(1);

    const summary = await tenancy.migrate();
    expect(summary.results.filter((r) => r.status !== 'migrated' && r.status !== 'up-to-date')).toEqual([]);
    expect((await pendingRows()).map((p) => [p.id, p.schema_version])).toEqual([[behind[0]!.id, '0002_add_owner']]);
    const claimed = await tenancy.tenants.create({ slug: 'pool-hit', name: 'H' });
    expect(claimed.id).toBe(behind[0]!.id);
    await discardAll(tenancy, old);
  });

  it('processes refilling at once never exceed the size, and a lowered size trims the pool', async () => {
    const a = await h.tenancy({ pendingTenants: { schema: 3 } });
    const b = await h.tenancy({ pendingTenants: { schema: 3 } });
    await Promise.all([a.tenants.fillPending(), b.tenants.fillPending(), a.tenants.fillPending()]);
    const held = await pendingRows();
    expect(held).toHaveLength(3);
    await b.close();
    const smaller = await h.tenancy({ pendingTenants: { schema: 1 } });
    await smaller.tenants.fillPending();
    const kept = await pendingRows();
    expect(kept.map((p) => p.id)).toEqual([held[0]!.id]);
    for (const gone of held.slice(1)) expect(await exists('schema', gone.physical_name)).toBe(false);
    await discardAll(a, b, smaller);
  });

  it('rejects bad pool options with a sentence', async () => {
    for (const bad of [{ schema: -1 }, { database: 1.5 }, { schema: 'x' }, { refillIntervalMs: 5 }]) {
      const err = await h.tenancy({ pendingTenants: bad as never }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTenantryError(err) && err.code).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toMatch(/pendingTenants/);
    }
  });

  it(
    'a refill killed at every step of provisioning: after a start the pool holds only whole, usable pending tenants',
    { timeout: 180_000 },
    async () => {
      for (const isolation of ['schema', 'database'] as const) {
        const steps =
          isolation === 'schema'
            ? ['registered', 'provisioned']
            : ['registered', 'role-created', 'database-created', 'database-secured', 'container-created', 'provisioned'];
        for (const step of steps) {
          const script = `
          const { createTenancy } = await import(${JSON.stringify(core)});
          const tenancy = await createTenancy({
            registryUrl: process.env.URL, migrations: process.env.MIGRATIONS, reconcileOnStart: false,
            pendingTenants: { [process.env.ISOLATION]: 1 },
            onLifecycleStep: (step) => { if (step === process.env.STEP) process.kill(process.pid, 'SIGKILL'); },
          });
          await tenancy.tenants.fillPending();
          process.exit(3);`;
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
            env: { ...process.env, URL: h.db.url, MIGRATIONS, STEP: step, ISOLATION: isolation },
            stdio: 'ignore',
          });
          const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
          expect(signal, `child should die at ${step} (exit code ${code})`).toBe('SIGKILL');
          // A start reconciles (the killed backend lets go of its lock a moment later), then refills.
          const tenancy = await h.tenancy({ pendingTenants: { [isolation]: 1 } });
          await expect
            .poll(async () => (await pendingRows()).filter((p) => p.status === 'PROVISIONING').length, { timeout: 20_000 })
            .toBe(0);
          await tenancy.reconcile();
          await tenancy.tenants.fillPending();
          const rows = await pendingRows();
          expect(
            rows.map((p) => [p.isolation, p.status]),
            `${isolation} killed at ${step}`,
          ).toEqual([[isolation, 'ACTIVE']]);
          expect(await exists(isolation, rows[0]!.physical_name)).toBe(true);
          const t = await tenancy.tenants.create({ slug: `pool-crash-${isolation}-${step}`, name: 'C', isolation });
          expect(t.id).toBe(rows[0]!.id);
          await tenancy.withTenant(t.id, (db) => db.query("insert into posts (title) values ('x')"));
          const report = await tenancy.reconcile();
          expect(report.orphans, `${isolation} killed at ${step}`).toEqual([]);
          await tenancy.close();
          await discardAll(tenancy);
        }
      }
    },
  );
});
