import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import type { QueryResultCache } from 'typeorm/cache/QueryResultCache.js';
import type { QueryResultCacheOptions } from 'typeorm/cache/QueryResultCacheOptions.js';
import type { Tenancy } from '@tenantry/core';
import { typeormMigrations, typeormTenancy } from '../dist/index.js';
import { Item, Note } from './fixtures/entities.js';
import { CreateItems1700000000001, AddNotes1700000000002, CreateQueryResultCache1700000000009 } from './fixtures/migrations.js';
import { setupHarness } from './helpers.js';

const h = await setupHarness();

/** A custom provider keyed, like TypeORM's Redis one, by identifier or by SQL + parameters only. */
class MemoryCache implements QueryResultCache {
  readonly store = new Map<string, QueryResultCacheOptions>();
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async synchronize(): Promise<void> {}
  async getFromCache(options: QueryResultCacheOptions): Promise<QueryResultCacheOptions | undefined> {
    return this.store.get(options.identifier || options.query || '');
  }
  async storeInCache(options: QueryResultCacheOptions): Promise<void> {
    this.store.set(options.identifier || options.query || '', options);
  }
  isExpired(saved: QueryResultCacheOptions): boolean {
    return Number(saved.time) + Number(saved.duration) < Date.now();
  }
  async clear(): Promise<void> {
    this.store.clear();
  }
  async remove(identifiers: string[]): Promise<void> {
    for (const id of identifiers) this.store.delete(id);
  }
}

async function setup(
  app: string,
  cache: NonNullable<ConstructorParameters<typeof DataSource>[0]['cache']>,
): Promise<{
  tenancy: Tenancy;
  dataSource: DataSource;
}> {
  const dataSource = new DataSource({ type: 'postgres', entities: [Item, Note], cache });
  const tenancy = await h.tenancy({
    migrations: typeormMigrations({
      migrations: [CreateItems1700000000001, AddNotes1700000000002, CreateQueryResultCache1700000000009],
      dataSource,
    }),
    applicationName: app,
    pool: { max: 1 }, // B's unit of work runs on the backend A just used
  });
  await typeormTenancy(tenancy, dataSource);
  return { tenancy, dataSource };
}

/** Tenants A and B, each with one row of its own. */
async function twoTenants(tenancy: Tenancy, dataSource: DataSource, prefix: string) {
  const a = await tenancy.tenants.create({ slug: `${prefix}-a`, name: 'A' });
  const b = await tenancy.tenants.create({ slug: `${prefix}-b`, name: 'B' });
  for (const t of [a, b]) await tenancy.run(t.id, () => dataSource.getRepository(Item).save({ owner: t.slug, label: 'mine' }));
  return [a, b] as const;
}

describe('@tenantry/typeorm result cache', () => {
  it('a custom cache provider keyed by SQL + parameters or by id gives each tenant only its own rows', async () => {
    const memory = new MemoryCache();
    const { tenancy, dataSource } = await setup('typeorm-cache-custom', { provider: () => memory, duration: 60_000 });
    const [a, b] = await twoTenants(tenancy, dataSource, 'custom');
    const items = dataSource.getRepository(Item);
    const owners = (rows: Item[]) => rows.map((r) => r.owner);
    for (const t of [a, b, a, b]) {
      await tenancy.run(t.id, async () => {
        expect(owners(await items.find({ cache: 60_000 }))).toEqual([t.slug]);
        expect(owners(await items.find({ cache: { id: 'all-items', milliseconds: 60_000 } }))).toEqual([t.slug]);
        expect(owners(await dataSource.createQueryBuilder(Item, 'i').cache(true).getMany())).toEqual([t.slug]);
        // Inside a unit of work, on its connection.
        await tenancy.withTenant(async (db) => {
          const em = dataSource.manager;
          expect(owners(await em.find(Item, { cache: 60_000 }))).toEqual([t.slug]);
          expect(db.tenant.id).toBe(t.id);
        });
      });
    }
    // Entries are kept per tenant (by its immutable id), and removal by id is per tenant too.
    const keys = [...memory.store.keys()];
    expect(keys.filter((k) => k.includes('all-items'))).toHaveLength(2);
    expect(keys.every((k) => k.startsWith(`tenantry:${a.id}:`) || k.startsWith(`tenantry:${b.id}:`))).toBe(true);
    await tenancy.run(a.id, () => dataSource.queryResultCache!.remove(['all-items']));
    expect([...memory.store.keys()].filter((k) => k.includes('all-items'))).toEqual([`tenantry:${b.id}:all-items`]);
  });

  it('outside a tenant context a cached query fails instead of answering from the cache', async () => {
    const memory = new MemoryCache();
    const { tenancy, dataSource } = await setup('typeorm-cache-none', { provider: () => memory });
    const [a] = await twoTenants(tenancy, dataSource, 'none');
    await tenancy.run(a.id, () => dataSource.getRepository(Item).find({ cache: { id: 'x', milliseconds: 60_000 } }));
    await expect(dataSource.getRepository(Item).find({ cache: { id: 'x', milliseconds: 60_000 } })).rejects.toMatchObject({
      code: 'TENANT_REQUIRED',
    });
  });

  it("the 'db' provider keeps its rows in each tenant's own query-result-cache table, keyed by tenant", async () => {
    const { tenancy, dataSource } = await setup('typeorm-cache-db', { type: 'database', duration: 60_000 });
    const [a, b] = await twoTenants(tenancy, dataSource, 'dbc');
    const items = dataSource.getRepository(Item);
    for (const t of [a, b, a, b]) {
      await tenancy.run(t.id, async () => {
        expect((await items.find({ cache: 60_000 })).map((r) => r.owner)).toEqual([t.slug]);
        expect((await items.find({ cache: { id: 'all', milliseconds: 60_000 } })).map((r) => r.owner)).toEqual([t.slug]);
      });
    }
    for (const t of [a, b]) {
      const rows = await tenancy.withTenant(
        t.id,
        async (db) =>
          (await db.query<{ identifier: string | null; query: string }>('select identifier, query from "query-result-cache"')).rows,
      );
      expect(rows).toHaveLength(2);
      expect(rows.every((r) => (r.identifier ?? r.query).startsWith(`tenantry:${t.id}:`))).toBe(true);
    }
  });
});
