import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAbortedTransactionError, sql, type Generated, type Kysely } from 'kysely';
import type { Migration as KyselyMigration } from 'kysely/migration';
import { kyselyMigrations, kyselyTenancy, tenantKysely } from '../dist/index.js';
import { codeOf, setupHarness } from './helpers.js';

const h = await setupHarness();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MIGRATIONS = [fixture('items'), fixture('notes'), fixture('settings')];

interface Database {
  items: { id: Generated<number>; owner: string; label: string };
}

const ROLLBACK = new Error('roll back');

describe('@tenantry/kysely', () => {
  it('one Kysely for the application serves every tenant, opening no connection of its own; transaction() commits or rolls back', async () => {
    const tenancy = await h.tenancy({ migrations: kyselyMigrations(MIGRATIONS), applicationName: 'kysely-one', pool: { max: 4 } });
    const adapter = kyselyTenancy<Database>(tenancy);
    const { db } = adapter;
    const tenants = [];
    for (let i = 0; i < 4; i++)
      tenants.push(await tenancy.tenants.create({ slug: `one-${i}`, name: `One ${i}`, isolation: i === 3 ? 'database' : 'schema' }));
    await Promise.all(
      tenants.map((t) => tenancy.run(t.id, () => db.insertInto('items').values({ owner: t.slug, label: 'first' }).execute())),
    );
    for (const t of tenants) {
      await tenancy.run(t.slug, async () => {
        expect(await db.selectFrom('items').select('owner').execute()).toEqual([{ owner: t.slug }]);
        expect(tenantKysely()).toBe(db);
        const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
        expect(rows[0]!.schema).toBe(t.isolation === 'schema' ? t.physicalName : 'public');
        // transaction().execute() holds one unit of work: committed when the callback returns…
        const id = await db.transaction().execute(async (trx) => {
          const row = await trx.insertInto('items').values({ owner: t.slug, label: 'second' }).returning('id').executeTakeFirstOrThrow();
          expect(await trx.selectFrom('items').select('label').where('id', '=', row.id).executeTakeFirst()).toEqual({ label: 'second' });
          return row.id;
        });
        expect(typeof id).toBe('number');
        // …rolled back when it throws.
        await expect(
          db.transaction().execute(async (trx) => {
            await trx.insertInto('items').values({ owner: t.slug, label: 'lost' }).execute();
            throw ROLLBACK;
          }),
        ).rejects.toBe(ROLLBACK);
        const labels = await db.selectFrom('items').select('label').orderBy('label').execute();
        expect(labels.map((r) => r.label)).toEqual(['first', 'second']);
      });
      await tenancy.withTenant(t.id, async (uow) => {
        expect(adapter.bind(uow)).toBe(adapter.bind(uow));
        expect(
          await adapter
            .bind(uow)
            .selectFrom('items')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirst(),
        ).toEqual({ n: '2' });
      });
    }
    // db.destroy() closes nothing of Tenantry's (Kysely refuses that instance afterwards): the tenancy owns the connections.
    await db.destroy();
    await expect(tenancy.run('one-0', () => db.selectFrom('items').select('owner').execute())).rejects.toThrow(/destroyed/);
    expect(await tenancy.withTenant('one-0', (uow) => adapter.bind(uow).selectFrom('items').select('owner').execute())).toHaveLength(2);
    const { rows } = await h.admin.query<{ app: string; n: number }>(
      "select application_name as app, count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and (datname = $1 or datname like 't\\_%') group by 1",
      [h.db.name],
    );
    // Only Tenantry's pool (within its budget) and its listener: Kysely opened nothing.
    expect(rows.find((r) => r.app === '')).toBeUndefined();
    expect(rows.filter((r) => r.app.startsWith('kysely-one')).reduce((n, r) => n + r.n, 0)).toBeLessThanOrEqual(4 + 1);
  });

  it("inside withTenant() Kysely joins the unit of work: its transaction is a savepoint of the unit of work's db.transaction()", async () => {
    const tenancy = await h.tenancy({
      migrations: kyselyMigrations(MIGRATIONS.slice(0, 1)),
      applicationName: 'kysely-join',
      pool: { max: 1 },
    });
    const { db } = kyselyTenancy<Database>(tenancy);
    const t = await tenancy.tenants.create({ slug: 'join-a', name: 'A' });
    // The outer transaction rolls back everything, the Kysely transaction that committed inside it too.
    await expect(
      tenancy.withTenant(t.id, (uow) =>
        uow.transaction(async () => {
          await db.transaction().execute((trx) => trx.insertInto('items').values({ owner: 'a', label: 'inner' }).execute());
          await db.insertInto('items').values({ owner: 'a', label: 'outer' }).execute();
          expect(await db.selectFrom('items').select('label').execute()).toHaveLength(2);
          throw ROLLBACK;
        }),
      ),
    ).rejects.toBe(ROLLBACK);
    expect(await tenancy.run(t.id, () => db.selectFrom('items').selectAll().execute())).toEqual([]);
    // A Kysely transaction that throws inside the unit of work rolls back to its savepoint only.
    await tenancy.withTenant(t.id, (uow) =>
      uow.transaction(async () => {
        await db.insertInto('items').values({ owner: 'a', label: 'kept' }).execute();
        await db
          .transaction()
          .execute(async (trx) => {
            await trx.insertInto('items').values({ owner: 'a', label: 'undone' }).execute();
            throw ROLLBACK;
          })
          .catch(() => undefined);
      }),
    );
    expect(await tenancy.run(t.id, () => db.selectFrom('items').select('label').execute())).toEqual([{ label: 'kept' }]);
  });

  it("a swallowed failure makes Kysely's COMMIT fail with TRANSACTION_ABORTED, which Kysely knows as an aborted transaction", async () => {
    const tenancy = await h.tenancy({
      migrations: kyselyMigrations(MIGRATIONS.slice(0, 1)),
      applicationName: 'kysely-abort',
      pool: { max: 1 },
    });
    const { db } = kyselyTenancy<Database>(tenancy);
    const t = await tenancy.tenants.create({ slug: 'abort-a', name: 'A' });
    const fail = (k: Kysely<Database>) =>
      k
        .insertInto('items')
        .values({ owner: 'a', label: null as unknown as string })
        .execute()
        .catch(() => undefined);
    const err = await tenancy
      .run(t.id, () =>
        db.transaction().execute(async (trx) => {
          await trx.insertInto('items').values({ owner: 'a', label: 'lost' }).execute();
          await fail(trx);
        }),
      )
      .catch((e: unknown) => e);
    expect(codeOf(err)).toBe('TRANSACTION_ABORTED');
    expect(isAbortedTransactionError(err)).toBe(true);
    // A controlled transaction: the failed commit releases the unit of work (a budget of 1 serves the next query).
    const controlled = await tenancy
      .run(t.id, async () => {
        const trx = await db.startTransaction().execute();
        await trx.insertInto('items').values({ owner: 'a', label: 'lost too' }).execute();
        await fail(trx);
        await trx.commit().execute();
      })
      .catch((e: unknown) => e);
    expect(codeOf(controlled)).toBe('TRANSACTION_ABORTED');
    expect(await tenancy.run(t.id, () => db.selectFrom('items').selectAll().execute())).toEqual([]);
  });

  it('Kysely migrations are recorded as SQL with parameters inlined, land in the tenant, and roll back with their down parts', async () => {
    const tenancy = await h.tenancy({ migrations: kyselyMigrations(MIGRATIONS), applicationName: 'kysely-mig' });
    const t = await tenancy.tenants.create({ slug: 'mig-a', name: 'A' });
    const d = await tenancy.tenants.create({ slug: 'mig-d', name: 'D', isolation: 'database' });
    expect(t.schemaVersion).toBe('20240103000000_seed_settings');
    for (const tenant of [t, d]) {
      const settings = await tenancy.withTenant(
        tenant.id,
        async (db) =>
          (await db.query("select key, value, obj_description('settings'::regclass) as comment from settings order by key")).rows,
      );
      expect(settings).toEqual([
        { key: 'none', value: null, comment: 'seeded' },
        { key: 'quote', value: "it's $1 \\ back", comment: 'seeded' },
      ]);
    }
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

  it('migrations that read, use returning() or export no up() are refused when loaded; a down that reads is left out', async () => {
    const load = (migrations: Record<string, KyselyMigration>) => kyselyMigrations({ migrations }).load();
    await expect(kyselyMigrations(fixture('reads')).load()).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('reads from the database'),
      context: { migration: '20240104000000_reads' },
    });
    await expect(
      load({
        '1_select': {
          up: async (db) => {
            for (const r of await db.selectFrom('users').select('id').execute()) await db.insertInto('x').values(r).execute();
          },
        },
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining('reads from the database') });
    await expect(load({ '1_raw_read': { up: async (db) => void (await sql`select 1`.execute(db)) } })).rejects.toMatchObject({
      message: expect.stringContaining('reads from the database'),
    });
    await expect(
      load({ '1_returning': { up: async (db) => void (await db.insertInto('x').values({ a: 1 }).returning('id').execute()) } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('returning()') });
    await expect(load({ '1_no_up': {} as KyselyMigration })).rejects.toMatchObject({ message: expect.stringContaining('no up(db)') });
    await expect(kyselyMigrations(fixture('nope')).load()).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('cannot read'),
    });
    expect(() => kyselyMigrations({} as never)).toThrow(/takes a folder/);
    expect(() => kyselyMigrations({ migrationFolder: fixture('items'), migrations: {} })).toThrow(/one of/);
    const [m] = await load({
      '1_ok': {
        up: (db) =>
          db.schema
            .createTable('x')
            .addColumn('id', 'serial', (c) => c.primaryKey())
            .execute(),
        down: async (db) => {
          if ((await db.introspection.getTables()).some((t) => t.name === 'x')) await db.schema.dropTable('x').execute();
        },
      },
    });
    expect(m).toMatchObject({ name: '1_ok', up: 'create table "x" ("id" serial primary key)' });
    expect(m!.down).toBeUndefined();
    // Transaction control in a migration is left to Tenantry's per-tenant transaction; names sort as Kysely sorts them.
    const list = await load({
      b_second: { up: (db) => db.schema.createTable('z').addColumn('a', 'text').execute() },
      a_first: {
        up: (db) => db.transaction().execute((trx) => trx.schema.createTable('y').addColumn('a', 'text').execute()),
        down: (db) => db.schema.dropTable('y').execute(),
      },
    });
    expect(list.map((x) => [x.name, x.up, x.down])).toEqual([
      ['a_first', 'create table "y" ("a" text)', 'drop table "y"'],
      ['b_second', 'create table "z" ("a" text)', undefined],
    ]);
  });

  it('isolation levels and in-flight query cancellation are refused; outside a tenant TENANT_REQUIRED, options that open a pool INVALID_ARGUMENT', async () => {
    const tenancy = await h.tenancy({
      migrations: kyselyMigrations(MIGRATIONS.slice(0, 1)),
      applicationName: 'kysely-refuse',
      pool: { max: 1 },
    });
    for (const key of ['dialect', 'pool', 'onCreateConnection', 'onReserveConnection', 'executor']) {
      expect(() => kyselyTenancy(tenancy, { [key]: {} } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const { db } = kyselyTenancy<Database>(tenancy);
    const t = await tenancy.tenants.create({ slug: 'refuse-a', name: 'A' });
    const iso = await tenancy
      .run(t.id, () =>
        db
          .transaction()
          .setIsolationLevel('serializable')
          .execute((trx) => trx.insertInto('items').values({ owner: 'a', label: 'x' }).execute()),
      )
      .catch((e: unknown) => e);
    expect(codeOf(iso)).toBe('INVALID_ARGUMENT');
    expect((iso as Error).message).toContain('isolation level');
    // Cancelling by pid would reach a connection Tenantry's router may already have given to another tenant.
    const cancel = await tenancy
      .run(t.id, () =>
        db.selectFrom('items').selectAll().execute({ signal: new AbortController().signal, inflightQueryAbortStrategy: 'cancel query' }),
      )
      .catch((e: unknown) => e);
    expect((cancel as Error).message).toMatch(/doesn't support `inflightQueryAbortStrategy` "cancel query"/);
    // An abort signal that ignores the query in flight works.
    const controller = new AbortController();
    expect(await tenancy.run(t.id, () => db.selectFrom('items').selectAll().execute({ signal: controller.signal }))).toEqual([]);
    expect(
      codeOf(
        await db
          .selectFrom('items')
          .selectAll()
          .execute()
          .catch((e: unknown) => e),
      ),
    ).toBe('TENANT_REQUIRED');
    expect(codeOf(await tenancy.run('nobody', () => db.selectFrom('items').selectAll().execute()).catch((e: unknown) => e))).toBe(
      'TENANT_NOT_FOUND',
    );
    // The one connection of the budget was released every time.
    expect(await tenancy.run(t.id, () => db.selectFrom('items').selectAll().execute())).toEqual([]);
  });
});
