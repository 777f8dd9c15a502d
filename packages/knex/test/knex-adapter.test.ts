import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { knexMigrations, knexTenancy, tenantKnex } from '../dist/index.js';
import { codeOf, setupHarness } from './helpers.js';

const h = await setupHarness();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MIGRATIONS = [fixture('items'), fixture('notes'), fixture('settings')];

/** A Knex migration source over inline migrations, as Knex's `migrationSource` option takes them. */
function inline(migrations: Record<string, Knex.Migration & { config?: { transaction?: boolean } }>): Knex.MigrationSource<string> {
  return {
    getMigrations: async () => Object.keys(migrations),
    getMigrationName: (name) => name,
    getMigration: async (name) => migrations[name]!,
  };
}

describe('@tenantry/knex', () => {
  it('one Knex for the application serves every tenant, opening no connection of its own', async () => {
    const tenancy = await h.tenancy({ migrations: knexMigrations(MIGRATIONS), applicationName: 'knex-one', pool: { max: 4 } });
    const adapter = knexTenancy(tenancy);
    const { knex } = adapter;
    const tenants = [];
    for (let i = 0; i < 4; i++)
      tenants.push(await tenancy.tenants.create({ slug: `one-${i}`, name: `One ${i}`, isolation: i === 3 ? 'database' : 'schema' }));
    // Awaited inside the callback: a Knex builder is a lazy thenable, run when awaited.
    await Promise.all(
      tenants.map((t) => tenancy.run(t.id, async () => void (await knex('items').insert({ owner: t.slug, label: 'first' })))),
    );
    for (const t of tenants) {
      await tenancy.run(t.slug, async () => {
        expect(await knex('items').select('owner')).toEqual([{ owner: t.slug }]);
        expect(tenantKnex()).toBe(knex);
        const { rows } = await knex.raw<{ rows: { schema: string }[] }>('select current_schema() as schema');
        expect(rows[0]!.schema).toBe(t.isolation === 'schema' ? t.physicalName : 'public');
        // A transaction holds one unit of work; a nested one is a savepoint.
        await knex.transaction(async (trx) => {
          await trx('items').insert({ owner: t.slug, label: 'second' });
          await trx
            .transaction(async (inner) => {
              await inner('items').insert({ owner: t.slug, label: 'third' });
              throw new Error('roll back the savepoint');
            })
            .catch(() => undefined);
        });
        expect((await knex('items').pluck('label')).sort()).toEqual(['first', 'second']);
      });
      await tenancy.withTenant(t.id, async (db) => {
        expect(adapter.bind(db)).toBe(adapter.bind(db));
        expect(await adapter.bind(db)('items').count({ n: '*' }).first()).toEqual({ n: '2' });
      });
    }
    // knex.destroy() is a no-op: the tenancy owns the connections.
    await knex.destroy();
    expect(await tenancy.run('one-0', async () => (await knex('items').count({ n: '*' }))[0])).toEqual({ n: '2' });
    const { rows } = await h.admin.query<{ app: string; n: number }>(
      "select application_name as app, count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and (datname = $1 or datname like 't\\_%') group by 1",
      [h.db.name],
    );
    // Only Tenantry's pool (within its budget) and its listener: Knex opened nothing (it would
    // connect without an application_name).
    expect(rows.find((r) => r.app === '')).toBeUndefined();
    expect(rows.filter((r) => r.app.startsWith('knex-one')).reduce((n, r) => n + r.n, 0)).toBeLessThanOrEqual(4 + 1);
  });

  it('Knex migrations are recorded as SQL with bindings inlined, land in the tenant, and roll back with their down parts', async () => {
    const tenancy = await h.tenancy({ migrations: knexMigrations(MIGRATIONS), applicationName: 'knex-mig' });
    const t = await tenancy.tenants.create({ slug: 'mig-a', name: 'A' });
    expect(t.schemaVersion).toBe('20240103000000_seed_settings');
    const settings = await tenancy.withTenant(
      t.id,
      async (db) =>
        (await db.query("select key, value, at, meta, obj_description('settings'::regclass) as comment from settings order by key")).rows,
    );
    expect(settings).toEqual([
      { key: 'path', value: 'C:\\temp', at: null, meta: null, comment: "tenant's settings" },
      { key: 'quote', value: "it's ?", at: new Date('2024-01-02T03:04:05Z'), meta: { a: ["x'y"] }, comment: "tenant's settings" },
    ]);
    const { rows } = await h.admin.query<{ t: string | null }>("select to_regclass('public.settings')::text as t");
    expect(rows[0]!.t).toBeNull();
    const undone = await tenancy.rollback({ tenants: [t.id], steps: 2 });
    expect(undone.results[0]).toMatchObject({
      status: 'rolled-back',
      applied: ['20240103000000_seed_settings', '20240102000000_create_notes'],
    });
    const left = await tenancy.withTenant(t.id, async (db) =>
      (
        await db.query<{ t: string }>(
          'select table_name::text as t from information_schema.tables where table_schema = current_schema() order by 1',
        )
      ).rows.map((r) => r.t),
    );
    expect(left).toEqual(['_tenantry_migrations', 'items']);
  });

  it('migrations that read, use returning(), opt out of the transaction or export no up() are refused when loaded', async () => {
    const load = (migrations: Parameters<typeof inline>[0]) => knexMigrations({ migrationSource: inline(migrations) }).load();
    await expect(
      load({
        '1_reads': {
          up: async (k) => {
            if (!(await k.schema.hasTable('x'))) await k.schema.createTable('x', (t) => t.increments());
          },
        },
      }),
    ).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('reads from the database'),
      context: { migration: '1_reads' },
    });
    await expect(
      load({
        '1_select': {
          up: async (k) => {
            for (const r of await k('users').select('id')) await k('x').insert(r);
          },
        },
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining('reads from the database') });
    await expect(
      load({
        '1_returning': {
          up: async (k) => {
            await k('x').insert({ a: 1 }).returning('id');
          },
        },
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining('returning()') });
    await expect(
      load({ '1_concurrently': { up: (k) => k.raw('create index concurrently i on x (a)'), config: { transaction: false } } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('transaction = false') });
    await expect(load({ '1_no_up': {} as Knex.Migration })).rejects.toMatchObject({ message: expect.stringContaining('no up(knex)') });
    await expect(knexMigrations(fixture('nope')).load()).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('cannot read'),
    });
    expect(() => knexMigrations({} as never)).toThrow(/takes a folder/);
    // A down that reads is left out: rollback reports the migration irreversible.
    const [m] = await load({
      '1_ok': {
        up: (k) => k.schema.createTable('x', (t) => t.increments()),
        down: async (k) => {
          if (await k.schema.hasTable('x')) await k.schema.dropTable('x');
        },
      },
    });
    expect(m).toMatchObject({ name: '1_ok', up: 'create table "x" ("id" serial primary key)' });
    expect(m!.down).toBeUndefined();
    // Transaction control in a migration is left to Tenantry's per-tenant transaction.
    const [tx] = await load({
      '2_tx': {
        up: (k) =>
          k.transaction(async (trx) => {
            await trx.schema.createTable('y', (t) => t.text('a'));
          }),
      },
    });
    expect(tx!.up).toBe('create table "y" ("a" text)');
  });

  it('an isolation level is refused with a clear error, the transaction leaves nothing behind', async () => {
    const tenancy = await h.tenancy({ migrations: knexMigrations(MIGRATIONS.slice(0, 1)), applicationName: 'knex-iso', pool: { max: 1 } });
    const { knex } = knexTenancy(tenancy);
    const t = await tenancy.tenants.create({ slug: 'iso-a', name: 'A' });
    const err = await tenancy
      .run(t.id, () =>
        knex.transaction(
          async (trx) => {
            await trx('items').insert({ owner: 'a', label: 'x' });
          },
          { isolationLevel: 'serializable' },
        ),
      )
      .catch((e: unknown) => e);
    expect(codeOf(err)).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toContain('isolation level');
    expect(await tenancy.run(t.id, async () => (await knex('items').count({ n: '*' }))[0])).toEqual({ n: '0' });
  });

  it('refuses options that would open a pool or bypass the tenant; a refused query logs nothing through Knex', async () => {
    const tenancy = await h.tenancy({ applicationName: 'knex-bad' });
    for (const key of ['connection', 'pool', 'connectionPool', 'client', 'searchPath']) {
      expect(() => knexTenancy(tenancy, { [key]: 'x' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const warnings: unknown[] = [];
    const { knex } = knexTenancy(tenancy, { log: { warn: (m: unknown) => warnings.push(m), error: (m: unknown) => warnings.push(m) } });
    expect(
      codeOf(
        await knex('items')
          .select()
          .catch((e: unknown) => e),
      ),
    ).toBe('TENANT_REQUIRED');
    expect(codeOf(await tenancy.run('nobody', () => knex('items').select()).catch((e: unknown) => e))).toBe('TENANT_NOT_FOUND');
    expect(warnings).toEqual([]);
  });
});
