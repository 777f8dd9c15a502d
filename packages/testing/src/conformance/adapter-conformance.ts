import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createTenancy, type MigrationSource, type Tenancy, type TenancyOptions, type Tenant } from '@tenantry/core';
import { currentUnitOfWork, type TenancyAdapter } from '@tenantry/core/adapter';
import { createTestDatabase, type TestDatabase } from '../test-database.js';

/**
 * The tables every adapter's migrations create, written with the adapter's ORM:
 *
 * - version 1: `items (id serial primary key, owner text not null, label text not null)`
 * - version 2: version 1, then `notes (id serial primary key, body text not null)`
 *
 * Version 2's source starts with version 1's migrations, unchanged.
 */
export const CONFORMANCE_TABLES = {
  1: ['items'],
  2: ['items', 'notes'],
} as const;

/** A row of `items` as the suite reads it. */
export interface ConformanceItem {
  readonly owner: string;
  readonly label: string;
}

/** How the suite does its few things with an ORM handle `H`. */
export interface ConformanceOps<H> {
  /** Inserts an item through the ORM. */
  insert(h: H, item: ConformanceItem): Promise<void>;
  /** Every item through the ORM, in any order. */
  list(h: H): Promise<ConformanceItem[]>;
  /** Runs `fn` in the ORM's own transaction API on `h` (a savepoint when `h` is already in one). */
  transaction<T>(h: H, fn: (tx: H) => Promise<T>): Promise<T>;
  /** A statement through the ORM that PostgreSQL rejects (e.g. a NOT NULL violation). */
  fail(h: H): Promise<unknown>;
}

/** What {@link runAdapterConformance} needs to know about an adapter. */
export interface AdapterConformanceSpec<H> {
  /** The adapter's name, in test titles. */
  readonly name: string;
  /** The ORM's migration source for {@link CONFORMANCE_TABLES} at `version`. */
  migrations(version: 1 | 2): MigrationSource;
  /** Sets the adapter up on a new tenancy (called once per tenancy the suite opens). */
  adapter(tenancy: Tenancy): Promise<TenancyAdapter<H>> | TenancyAdapter<H>;
  readonly ops: ConformanceOps<H>;
  /** Superuser URL of the server; default `inject('tenantryServerUrl')`. */
  readonly serverUrl?: string;
}

const ROLLBACK = new Error('conformance: roll back');

const pause = (): Promise<void> =>
  new Promise<void>((r) => (Math.random() < 0.5 ? setImmediate(r) : setTimeout(r, Math.floor(Math.random() * 3))));

/** The error code of `err` or of what it wraps (ORMs wrap driver errors). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown; driverError?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return errorCode(err) ?? `(no code: ${(err as Error).message})`;
  }
  return undefined;
}

function sortItems(items: readonly ConformanceItem[]): ConformanceItem[] {
  return items.map((i) => ({ owner: i.owner, label: i.label })).sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * Registers the shared adapter suite (vitest `describe`/`it`): the same isolation, transaction,
 * error and migration cases for every ORM adapter, against real PostgreSQL. Call it once from
 * a test file of the adapter; the file gets a database of its own.
 *
 * @example
 * ```ts
 * runAdapterConformance({
 *   name: 'drizzle',
 *   migrations: (v) => drizzleMigrations(v === 1 ? V1 : V2),
 *   adapter: (tenancy) => drizzleTenancy(tenancy, { schema }),
 *   ops: { insert: (db, item) => db.insert(items).values(item).then(() => undefined), … },
 * });
 * ```
 */
export function runAdapterConformance<H>(spec: AdapterConformanceSpec<H>): void {
  const { ops } = spec;
  let database: TestDatabase;
  let admin: pg.Client;
  const opened: Tenancy[] = [];
  let seq = 0;
  // Application names tell this file's connections apart from other files' on the same server.
  const runId = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    database = await createTestDatabase(spec.serverUrl ?? inject('tenantryServerUrl'));
    admin = new pg.Client({ connectionString: database.url, application_name: 'conformance-admin' });
    await admin.connect();
  });

  afterAll(async () => {
    for (const t of opened) await t.close();
    await admin?.end();
    await database?.drop();
  });

  async function open(
    version: 1 | 2,
    options: Partial<TenancyOptions> = {},
  ): Promise<{ tenancy: Tenancy; adapter: TenancyAdapter<H>; app: string }> {
    const app = `conf-${runId}-${++seq}`;
    const tenancy = await createTenancy({
      registryUrl: database.url,
      migrations: spec.migrations(version),
      applicationName: app,
      ...options,
    });
    opened.push(tenancy);
    return { tenancy, adapter: await spec.adapter(tenancy), app };
  }

  async function tenantsOf(tenancy: Tenancy, prefix: string, kinds: readonly ('schema' | 'database')[]): Promise<Tenant[]> {
    const out: Tenant[] = [];
    for (const [i, isolation] of kinds.entries())
      out.push(await tenancy.tenants.create({ slug: `${prefix}-${i}`, name: `${prefix} ${i}`, isolation }));
    return out;
  }

  async function tablesIn(tenancy: Tenancy, tenant: Tenant): Promise<string[]> {
    return await tenancy.withTenant(tenant.id, async (db) => {
      const { rows } = await db.query<{ t: string }>(
        'select table_name::text as t from information_schema.tables where table_schema = current_schema() order by 1',
      );
      return rows.map((r) => r.t);
    });
  }

  async function busyConnections(app: string): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where (application_name = $1 or application_name like $1 || ':%') and state like 'idle in transaction%'",
      [app],
    );
    return rows[0]!.n;
  }

  describe(`${spec.name} adapter conformance`, () => {
    it("the ORM's migrations provision new schema and database tenants, in the tenant and never in public", async () => {
      const { tenancy } = await open(1);
      const [s, d] = await tenantsOf(tenancy, 'mig', ['schema', 'database']);
      for (const t of [s!, d!]) {
        expect(t.status).toBe('ACTIVE');
        expect(await tablesIn(tenancy, t)).toEqual(expect.arrayContaining([...CONFORMANCE_TABLES[1]]));
      }
      const { rows } = await admin.query<{ t: string | null }>("select to_regclass('public.items')::text as t");
      expect(rows[0]!.t).toBeNull();
      const { rows: inSchema } = await admin.query<{ t: string | null }>(`select to_regclass('"${s!.physicalName}".items')::text as t`);
      expect(inSchema[0]!.t).not.toBeNull();
    });

    it('6 tenants (schema and database) × 200 interleaved units of work on a budget of 3 only ever see their own rows', async () => {
      const { tenancy, adapter, app } = await open(1, { pool: { max: 3 } });
      const tenants = await tenantsOf(tenancy, 'iso', ['schema', 'schema', 'schema', 'schema', 'database', 'database']);
      for (const t of tenants) {
        await tenancy.withTenant(t.id, async (db) => {
          for (let k = 0; k < 3; k++) await ops.insert(adapter.bind(db), { owner: t.slug, label: `${t.slug}:${k}` });
        });
      }
      const expectOwn = (t: Tenant, items: readonly ConformanceItem[]): void => {
        expect(items.length).toBe(3);
        for (const item of items) expect(item.owner).toBe(t.slug);
      };
      let done = 0;
      await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const t = tenants[Math.floor(Math.random() * tenants.length)]!;
          await pause();
          switch (i % 5) {
            case 0: // bound to an explicit unit of work
              await tenancy.withTenant(t.id, async (db) => expectOwn(t, await ops.list(adapter.bind(db))));
              break;
            case 1: // the context's handle, one unit of work per operation
              await tenancy.run(t.slug, async () => {
                expectOwn(t, await ops.list(adapter.current()));
                await pause();
                expectOwn(t, await ops.list(adapter.current()));
              });
              break;
            case 2: // an ORM transaction in the context, rolled back after a write
              await tenancy
                .run(t.id, () =>
                  ops.transaction(adapter.current(), async (tx) => {
                    await ops.insert(tx, { owner: t.slug, label: `${t.slug}:rolled-back` });
                    await pause();
                    expect((await ops.list(tx)).length).toBe(4);
                    throw ROLLBACK;
                  }),
                )
                .catch((err: unknown) => {
                  if (err !== ROLLBACK) throw err;
                });
              break;
            case 3: // an ORM transaction on a bound handle
              await tenancy.withTenant(t.id, (db) =>
                ops.transaction(adapter.bind(db), async (tx) => {
                  await pause();
                  expectOwn(t, await ops.list(tx));
                }),
              );
              break;
            default: // a failing statement, then the same unit of work goes on
              await tenancy.withTenant(t.id, async (db) => {
                const h = adapter.bind(db);
                expect(await codeOf(ops.fail(h))).toBeDefined();
                await pause();
                expectOwn(t, await ops.list(h));
              });
          }
          done++;
        }),
      );
      expect(done).toBe(200);
      for (const t of tenants) expectOwn(t, await tenancy.withTenant(t.id, (db) => ops.list(adapter.bind(db))));
      expect(await busyConnections(app)).toBe(0);
      const { rows } = await admin.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where application_name = $1 or application_name like $1 || ':%'",
        [app],
      );
      expect(rows[0]!.n).toBeLessThanOrEqual(3 + 1); // the budget, and the registry listener
    });

    it('nested ORM transactions are savepoints: an inner failure rolls back alone, the outer commits the rest', async () => {
      const { tenancy, adapter } = await open(1);
      const [t] = await tenantsOf(tenancy, 'nest', ['schema']);
      await tenancy.run(t!.id, () =>
        ops.transaction(adapter.current(), async (tx) => {
          await ops.insert(tx, { owner: 'nest', label: 'a' });
          await ops
            .transaction(tx, async (inner) => {
              await ops.insert(inner, { owner: 'nest', label: 'b' });
              throw ROLLBACK;
            })
            .catch((err: unknown) => {
              if (err !== ROLLBACK) throw err;
            });
          await ops.transaction(tx, async (inner) => {
            await ops.insert(inner, { owner: 'nest', label: 'c' });
            await ops.transaction(inner, (deepest) => ops.insert(deepest, { owner: 'nest', label: 'd' }));
          });
        }),
      );
      expect(sortItems(await tenancy.withTenant(t!.id, (db) => ops.list(adapter.bind(db))))).toEqual([
        { owner: 'nest', label: 'a' },
        { owner: 'nest', label: 'c' },
        { owner: 'nest', label: 'd' },
      ]);
      // The whole ORM transaction rolls back when its callback throws.
      await expect(
        tenancy.run(t!.id, () =>
          ops.transaction(adapter.current(), async (tx) => {
            await ops.insert(tx, { owner: 'nest', label: 'e' });
            await ops.transaction(tx, (inner) => ops.insert(inner, { owner: 'nest', label: 'f' }));
            throw ROLLBACK;
          }),
        ),
      ).rejects.toBe(ROLLBACK);
      expect((await tenancy.withTenant(t!.id, (db) => ops.list(adapter.bind(db)))).length).toBe(3);
    });

    it("an ORM transaction inside the unit of work's db.transaction() is a savepoint of it", async () => {
      const { tenancy, adapter } = await open(1);
      const [t] = await tenantsOf(tenancy, 'outer', ['schema']);
      await expect(
        tenancy.withTenant(t!.id, (db) =>
          db.transaction(async (tx) => {
            await tx.query("insert into items (owner, label) values ('outer', 'raw')");
            await ops.transaction(adapter.bind(tx), (orm) => ops.insert(orm, { owner: 'outer', label: 'orm' }));
            expect((await ops.list(adapter.bind(tx))).length).toBe(2);
            throw ROLLBACK;
          }),
        ),
      ).rejects.toBe(ROLLBACK);
      expect(await tenancy.withTenant(t!.id, (db) => ops.list(adapter.bind(db)))).toEqual([]);
      await tenancy.withTenant(t!.id, (db) =>
        db.transaction(async (tx) => {
          await ops.transaction(adapter.bind(tx), (orm) => ops.insert(orm, { owner: 'outer', label: 'kept' }));
        }),
      );
      expect(await tenancy.withTenant(t!.id, (db) => ops.list(adapter.bind(db)))).toEqual([{ owner: 'outer', label: 'kept' }]);
    });

    it('an error mid-transaction rolls back; a caught one makes COMMIT fail; the connection is reused clean', async () => {
      const { tenancy, adapter, app } = await open(1, { pool: { max: 1 } });
      const [t, u] = await tenantsOf(tenancy, 'err', ['schema', 'schema']);
      const failed = tenancy.run(t!.id, () =>
        ops.transaction(adapter.current(), async (tx) => {
          await ops.insert(tx, { owner: 'err', label: 'lost' });
          await ops.fail(tx);
        }),
      );
      expect(await codeOf(failed)).toBeDefined();
      // A failure the callback swallows: committing would silently roll back, so it throws.
      const swallowed = tenancy.run(t!.id, () =>
        ops.transaction(adapter.current(), async (tx) => {
          await ops.insert(tx, { owner: 'err', label: 'lost too' });
          await ops.fail(tx).catch(() => undefined);
        }),
      );
      expect(await codeOf(swallowed)).toBe('TRANSACTION_ABORTED');
      // The one connection of the budget is clean and serves both tenants.
      await tenancy.run(u!.id, () => ops.insert(adapter.current(), { owner: 'err-u', label: 'u' }));
      expect(await tenancy.run(t!.id, () => ops.list(adapter.current()))).toEqual([]);
      expect(await tenancy.run(u!.id, () => ops.list(adapter.current()))).toEqual([{ owner: 'err-u', label: 'u' }]);
      expect(await busyConnections(app)).toBe(0);
    });

    it('tenancy.migrate() applies new ORM migrations to every schema and database tenant', async () => {
      const first = await open(1);
      const tenants = await tenantsOf(first.tenancy, 'up', ['schema', 'schema', 'database']);
      for (const t of tenants)
        await first.tenancy.withTenant(t.id, (db) => ops.insert(first.adapter.bind(db), { owner: t.slug, label: 'before' }));
      await first.tenancy.close();
      const { tenancy, adapter } = await open(2);
      const ids = tenants.map((t) => t.id);
      const summary = await tenancy.migrate({ tenants: ids });
      expect(summary.ok).toBe(true);
      expect(summary.counts.migrated).toBe(tenants.length);
      const latest = summary.latest;
      for (const t of tenants) {
        expect(await tablesIn(tenancy, t)).toEqual(expect.arrayContaining([...CONFORMANCE_TABLES[2]]));
        expect((await tenancy.resolve(t.id)).schemaVersion).toBe(latest);
        expect(await tenancy.withTenant(t.id, (db) => ops.list(adapter.bind(db)))).toEqual([{ owner: t.slug, label: 'before' }]);
      }
      const again = await tenancy.migrate({ tenants: ids });
      expect(again.counts['up-to-date']).toBe(tenants.length);
      const fresh = await tenancy.tenants.create({ slug: 'up-fresh', name: 'Fresh' });
      expect(fresh.schemaVersion).toBe(latest);
      const { rows } = await admin.query<{ t: string | null }>("select to_regclass('public.notes')::text as t");
      expect(rows[0]!.t).toBeNull();
    });

    it('outside a tenant context the handle refuses with TENANT_REQUIRED', async () => {
      const { adapter } = await open(1);
      expect(await codeOf(ops.list(adapter.current()))).toBe('TENANT_REQUIRED');
    });

    it('the context handle joins the unit of work of withTenant(): same connection, same transaction', async () => {
      const { tenancy, adapter } = await open(1, { pool: { max: 1 } });
      const [t] = await tenantsOf(tenancy, 'join', ['schema']);
      const joins = await tenancy.withTenant(t!.id, async () => currentUnitOfWork(tenancy) !== undefined);
      expect(joins).toBe(true);
      await expect(
        tenancy.withTenant(t!.id, (db) =>
          db.transaction(async () => {
            await ops.insert(adapter.current(), { owner: 'join', label: 'x' });
            expect((await ops.list(adapter.current())).length).toBe(1);
            throw ROLLBACK;
          }),
        ),
      ).rejects.toBe(ROLLBACK);
      expect(await tenancy.withTenant(t!.id, () => ops.list(adapter.current()))).toEqual([]);
    });
  });
}
