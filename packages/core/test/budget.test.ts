import { describe, expect, it } from 'vitest';
import { setupHarness, pooledConnections } from './helpers.js';
import { migrationList, type MigrationSource, type Tenant } from '../src/index.js';
import { templateName } from '../src/database-isolation.js';

/** Half-built copies of a migration set's template database left on the test server. */
async function leftoverBuilds(migrations: MigrationSource): Promise<string[]> {
  const name = templateName(await migrations.load());
  const { rows } = await h.admin.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [
    `${name}_b`,
  ]);
  return rows.map((r) => r.datname);
}

const h = await setupHarness();

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('connection budget', () => {
  it('callers beyond the budget wait, then fail with CONNECTION_BUDGET_EXHAUSTED rather than opening more', async () => {
    const tenancy = await h.tenancy({
      pool: { max: 1, acquireTimeoutMillis: 200 },
      migrations: migrationList([]),
      applicationName: 'tenantry-b2',
    });
    await tenancy.tenants.create({ slug: 'busy', name: 'Busy' });
    const holder = tenancy.withTenant('busy', (db) => db.query('select pg_sleep(1)'));
    await new Promise((r) => setTimeout(r, 50));
    await expect(tenancy.withTenant('busy', (db) => db.query('select 1'))).rejects.toMatchObject({
      code: 'CONNECTION_BUDGET_EXHAUSTED',
      message: expect.stringContaining('raise pool.max'),
    });
    await holder;
    expect(await pooledConnections(h.admin, h.db.name, 'tenantry-b2')).toBeLessThanOrEqual(1);
  });
});

describe('provisioning under a small budget', () => {
  it(
    'concurrent schema and database creates on pool.max 2, with a template to build, all finish: none holds a connection while waiting for all the others',
    { timeout: 120_000 },
    async () => {
      // A migration set of its own, so its template database is built during this test.
      const migrations = migrationList([
        { name: '0001_notes', up: `create table notes (id int primary key, note text not null) -- ${Date.now()}` },
      ]);
      const tenancy = await h.tenancy({ applicationName: 'tenantry-small', pool: { max: 2, acquireTimeoutMillis: 60_000 }, migrations });
      const created = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          tenancy.tenants.create({ slug: `small-${i}`, name: `S${i}`, isolation: i % 2 === 0 ? 'database' : 'schema' }),
        ),
      );
      expect(created.map((t) => t.status)).toEqual(Array(8).fill('ACTIVE'));
      for (const t of created) {
        await tenancy.withTenant(t.id, (db) => db.query('insert into notes values (1, $1)', [t.slug]));
        expect((await tenancy.withTenant(t.id, (db) => db.query<{ note: string }>('select note from notes'))).rows).toEqual([
          { note: t.slug },
        ]);
      }
      // The template was built once, under its own name, and no half-built copy was left behind.
      expect(await leftoverBuilds(migrations)).toEqual([]);
      expect(await pooledConnections(h.admin, h.db.name, 'tenantry-small')).toBeLessThanOrEqual(2);
      await Promise.all(created.filter((t) => t.isolation === 'database').map((t) => tenancy.tenants.delete(t.id)));
    },
  );

  it('two processes building the same template at once both succeed and leave one template', { timeout: 120_000 }, async () => {
    const migrations = migrationList([{ name: '0001_pairs', up: `create table pairs (id int primary key) -- ${Date.now()}` }]);
    const [p1, p2] = await Promise.all([
      h.tenancy({ migrations, applicationName: 'tenantry-p1' }),
      h.tenancy({ migrations, applicationName: 'tenantry-p2' }),
    ]);
    const created = await Promise.all([
      p1.tenants.create({ slug: 'pair-1', name: 'P1', isolation: 'database' }),
      p2.tenants.create({ slug: 'pair-2', name: 'P2', isolation: 'database' }),
      p1.tenants.create({ slug: 'pair-3', name: 'P3', isolation: 'database' }),
      p2.tenants.create({ slug: 'pair-4', name: 'P4', isolation: 'database' }),
    ]);
    expect(created.map((t) => t.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(await leftoverBuilds(migrations)).toEqual([]);
    expect(
      (await h.admin.query('select 1 from pg_database where datname = $1 and datistemplate', [templateName(await migrations.load())]))
        .rowCount,
    ).toBe(1);
    for (const t of created) await p1.withTenant(t.id, (db) => db.query('insert into pairs values (1)'));
    await Promise.all(created.map((t) => p1.tenants.delete(t.id)));
  });

  it('pool.max 1 refuses, with the reason, what needs two connections to the registry server', async () => {
    const tenancy = await h.tenancy({ applicationName: 'tenantry-one', pool: { max: 1 } });
    await expect(tenancy.tenants.create({ slug: 'one-db', name: 'One', isolation: 'database' })).rejects.toMatchObject({
      code: 'PROVISIONING_FAILED',
      message: expect.stringMatching(/pool\.max is 1; raise pool\.max to at least 2/),
    });
    const schema = await tenancy.tenants.create({ slug: 'one-schema', name: 'One' });
    expect(schema.status).toBe('ACTIVE');
    await expect(tenancy.tenants.delete(schema.id)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

// Last in the file: its 2,000 tenants have no roles, and any tenancy started after it would give
// them theirs at start (reconcile), ≈ 30 s of work the other tests are not about.
describe('connection budget, many tenants', () => {
  it(
    '2,000 tenants hit at random by 64 concurrent callers never use more than pool.max server connections',
    { timeout: 240_000 },
    async () => {
      const max = 4;
      const tenancy = await h.tenancy({
        applicationName: 'tenantry-b1',
        // Roles are not what this test is about; creating 2,000 of them only slows its setup.
        tenantRoles: false,
        pool: { max, acquireTimeoutMillis: 60_000 },
        migrations: migrationList([{ name: '0001_items', up: 'create table items (id int primary key, owner uuid not null)' }]),
      });
      const tenants: Tenant[] = await mapLimit(
        Array.from({ length: 2000 }, (_, i) => i),
        4,
        (i) => tenancy.tenants.create({ slug: `b-${i}`, name: `B ${i}` }),
      );
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await pooledConnections(h.admin, h.db.name, 'tenantry-b1'));
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      let done = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let k = 0; k < 40; k++) {
            const t = tenants[Math.floor(Math.random() * tenants.length)]!;
            await tenancy.withTenant(t.id, async (db) => {
              await db.query('insert into items (id, owner) values ($1, $2) on conflict (id) do nothing', [k, t.id]);
              const { rows } = await db.query<{ owner: string }>('select distinct owner from items');
              expect(rows).toEqual([{ owner: t.id }]);
            });
            done++;
          }
        }),
      );
      sampling = false;
      await sampler;
      expect(done).toBe(64 * 40);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(max);
      const stats = tenancy.stats().servers[0]!;
      expect(stats.total).toBeLessThanOrEqual(max);
      expect(stats.max).toBe(max);
    },
  );
});
