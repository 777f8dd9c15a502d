import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import type { Tenancy } from '@tenantry/core';
import { inlineParameters, tenantManager, tenantRepository, typeormMigrations, typeormTenancy } from '../dist/index.js';
import { Item, Note } from './fixtures/entities.js';
import { AddNotes1700000000002, CreateItems1700000000001 } from './fixtures/migrations.js';
import { Concurrently1700000000005, NoTimestamp, Reads1700000000004, SeedSettings1700000000003 } from './fixtures/more-migrations.js';
import { codeOf, setupHarness } from './helpers.js';

const h = await setupHarness();
const MIGRATIONS = [CreateItems1700000000001, AddNotes1700000000002, SeedSettings1700000000003];

async function setup(app: string, pool = 4): Promise<{ tenancy: Tenancy; dataSource: DataSource }> {
  const dataSource = new DataSource({ type: 'postgres', entities: [Item, Note] });
  const tenancy = await h.tenancy({
    migrations: typeormMigrations({ migrations: MIGRATIONS, dataSource }),
    applicationName: app,
    pool: { max: pool },
  });
  await typeormTenancy(tenancy, dataSource);
  return { tenancy, dataSource };
}

describe('@tenantry/typeorm', () => {
  it('one metadata-only DataSource serves every tenant and opens no connection of its own', async () => {
    const { tenancy, dataSource } = await setup('typeorm-one', 3);
    const tenants = [];
    for (let i = 0; i < 5; i++)
      tenants.push(await tenancy.tenants.create({ slug: `one-${i}`, name: `One ${i}`, isolation: i === 4 ? 'database' : 'schema' }));
    expect(dataSource.isInitialized).toBe(true);
    expect((dataSource.driver as unknown as { master?: unknown }).master).toBeUndefined(); // no pg.Pool was made
    // A singleton repository, made outside any tenant, resolves the tenant at each call.
    const items = dataSource.getRepository(Item);
    await Promise.all(tenants.map((t) => tenancy.run(t.id, () => items.save(items.create({ owner: t.slug, label: 'first' })))));
    for (const t of tenants) {
      await tenancy.run(t.slug, async () => {
        expect(await items.find()).toMatchObject([{ owner: t.slug, label: 'first' }]);
        const viaBuilder = await dataSource.createQueryBuilder(Item, 'i').where('i.owner = :owner', { owner: t.slug }).getCount();
        expect(viaBuilder).toBe(1);
        const [{ schema }] = (await dataSource.query('select current_schema() as schema')) as [{ schema: string }];
        expect(schema).toBe(t.isolation === 'schema' ? t.physicalName : 'public');
        expect(await tenantRepository(Item).count()).toBe(1);
        expect(await tenantManager().count(Note)).toBe(0);
      });
    }
    const { rows } = await h.admin.query<{ app: string; n: number }>(
      "select application_name as app, count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and (datname = $1 or datname like 't\\_%') group by 1",
      [h.db.name],
    );
    // Only Tenantry's pool (within its budget) and listener: TypeORM opened nothing (it would
    // connect without an application_name).
    expect(rows.find((r) => r.app === '')).toBeUndefined();
    expect(rows.find((r) => r.app === 'typeorm-one')?.n ?? 0).toBeLessThanOrEqual(3);
  });

  it('the raw SQL of TypeORM migrations lands in the tenant, parameters inlined; down parts make rollback work', async () => {
    const { tenancy } = await setup('typeorm-mig');
    const t = await tenancy.tenants.create({ slug: 'mig-a', name: 'A' });
    const settings = await tenancy.withTenant(
      t.id,
      async (db) => (await db.query('select key, value, at from settings order by key')).rows,
    );
    expect(settings).toEqual([
      { key: 'path', value: 'C:\\temp', at: null },
      { key: 'quote', value: "it's $1", at: new Date('2024-01-02T03:04:05Z') },
    ]);
    const { rows } = await h.admin.query<{ t: string | null }>("select to_regclass('public.settings')::text as t");
    expect(rows[0]!.t).toBeNull();
    const undone = await tenancy.rollback({ tenants: [t.id], steps: 2 });
    expect(undone.results[0]).toMatchObject({ status: 'rolled-back', applied: ['SeedSettings1700000000003', 'AddNotes1700000000002'] });
    const left = await tenancy.withTenant(t.id, async (db) =>
      (
        await db.query<{ t: string }>(
          'select table_name::text as t from information_schema.tables where table_schema = current_schema() order by 1',
        )
      ).rows.map((r) => r.t),
    );
    expect(left).toEqual(['_tenantry_migrations', 'items']);
  });

  it('migrations that read the database, opt out of the transaction or have no timestamp are refused when loaded', async () => {
    const load = (migration: unknown) => typeormMigrations({ migrations: [migration as typeof NoTimestamp] }).load();
    await expect(load(Reads1700000000004)).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('reads from the database'),
    });
    await expect(load(Concurrently1700000000005)).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('transaction = false'),
    });
    await expect(load(NoTimestamp)).rejects.toMatchObject({ code: 'MIGRATION_INVALID', message: expect.stringContaining('timestamp') });
    // The recorded SQL is what the checksum covers: loading twice gives the same migrations.
    const [a, b] = [
      await typeormMigrations({ migrations: MIGRATIONS }).load(),
      await typeormMigrations({ migrations: [...MIGRATIONS].reverse() }).load(),
    ];
    expect(b).toEqual(a);
    expect(a.map((m) => m.name)).toEqual(['CreateItems1700000000001', 'AddNotes1700000000002', 'SeedSettings1700000000003']);
    expect(a[1]!.up).toMatch(/^CREATE TABLE "notes"/);
  });

  it('refuses a DataSource that would bypass the tenant or open its own pool', async () => {
    const tenancy = await h.tenancy({ applicationName: 'typeorm-bad' });
    const refuse = (options: Record<string, unknown>) =>
      typeormTenancy(tenancy, new DataSource({ type: 'postgres', entities: [Item], ...options } as never));
    await expect(refuse({ schema: 'public' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining("remove 'schema'"),
    });
    await expect(refuse({ synchronize: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(typeormTenancy(tenancy, { options: { type: 'mysql' }, isInitialized: false } as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const initialized = new DataSource({ type: 'postgres', entities: [Item] });
    Object.assign(initialized, { isInitialized: true });
    await expect(typeormTenancy(tenancy, initialized)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('not initialized'),
    });
  });

  it('an isolation level is refused with a clear error, and the transaction leaves nothing behind', async () => {
    const { tenancy, dataSource } = await setup('typeorm-iso', 1);
    const t = await tenancy.tenants.create({ slug: 'iso-a', name: 'A' });
    const err = await tenancy
      .run(t.id, () => dataSource.manager.transaction('SERIALIZABLE', (em) => em.save(Item, { owner: 'a', label: 'x' })))
      .catch((e: unknown) => e);
    expect(codeOf(err)).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toContain('isolation level');
    expect(await tenancy.run(t.id, () => dataSource.manager.count(Item))).toBe(0);
  });

  it('inlines parameters outside literals, identifiers, comments and dollar quotes', () => {
    expect(
      inlineParameters(`select $1, '$1', "$1", $tag$ $1 $tag$, E'\\'$1', $2 -- $1\n/* $1 /* $2 */ */ $10`, [
        'a',
        null,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        'j',
      ]),
    ).toBe(`select 'a', '$1', "$1", $tag$ $1 $tag$, E'\\'$1', NULL -- $1\n/* $1 /* $2 */ */ 'j'`);
    expect(() => inlineParameters('select $2', ['a'])).toThrow(/\$2/);
  });
});
