import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Cache, type MutationOption } from 'drizzle-orm/cache/core';
import { entityKind } from 'drizzle-orm';
import type { Tenancy } from '@tenantry/core';
import { drizzleMigrations, drizzleTenancy } from '../dist/index.js';
import * as schema from './fixtures/schema.js';
import { setupHarness } from './helpers.js';

const h = await setupHarness();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A cache keyed, like Drizzle's Upstash one, by query hash or tag, invalidated by table name. */
class MemoryCache extends Cache {
  static override readonly [entityKind]: string = 'TestMemoryCache';
  readonly entries = new Map<string, { value: unknown; tables: string[] }>();
  constructor(readonly mode: 'explicit' | 'all') {
    super();
  }
  override strategy(): 'explicit' | 'all' {
    return this.mode;
  }
  override async get(key: string): Promise<unknown[] | undefined> {
    return this.entries.get(key)?.value as unknown[] | undefined;
  }
  override async put(key: string, value: unknown, tables: string[]): Promise<void> {
    this.entries.set(key, { value, tables });
  }
  override async onMutate(params: MutationOption): Promise<void> {
    const tags = params.tags === undefined ? [] : ([] as string[]).concat(params.tags);
    const tables = (params.tables === undefined ? [] : ([] as unknown[]).concat(params.tables)).map(String);
    for (const [key, e] of this.entries) if (tags.includes(key) || e.tables.some((t) => tables.includes(t))) this.entries.delete(key);
  }
}

async function setup(
  app: string,
  cache: MemoryCache,
): Promise<{ tenancy: Tenancy; db: ReturnType<typeof drizzleTenancy<typeof schema>>['db'] }> {
  const tenancy = await h.tenancy({ migrations: drizzleMigrations(fixture('drizzle-v2')), applicationName: app, pool: { max: 1 } });
  const { db } = drizzleTenancy(tenancy, { schema, cache });
  return { tenancy, db };
}

describe('@tenantry/drizzle result cache', () => {
  it("A and B on one pooled connection, with Drizzle's cache on, each see only their own rows", async () => {
    const cache = new MemoryCache('explicit');
    const { tenancy, db } = await setup('drizzle-cache', cache);
    const [a, b] = [await tenancy.tenants.create({ slug: 'dc-a', name: 'A' }), await tenancy.tenants.create({ slug: 'dc-b', name: 'B' })];
    for (const t of [a, b]) await tenancy.run(t.id, () => db.insert(schema.items).values({ owner: t.slug, label: 'mine' }));
    const owners = (rows: { owner: string }[]) => rows.map((r) => r.owner);
    for (const t of [a, b, a, b]) {
      await tenancy.run(t.id, async () => {
        expect(owners(await db.select().from(schema.items).$withCache())).toEqual([t.slug]);
        expect(owners(await db.select().from(schema.items).$withCache({ tag: 'all-items' }))).toEqual([t.slug]);
      });
      // A database bound to a unit of work keys by that unit of work's tenant.
      await tenancy.withTenant(t.id, async () => {
        expect(owners(await db.select().from(schema.items).$withCache({ tag: 'all-items' }))).toEqual([t.slug]);
      });
    }
    expect([...cache.entries.keys()].every((k) => k.startsWith(`tenantry:${a.id}:`) || k.startsWith(`tenantry:${b.id}:`))).toBe(true);
    // A write invalidates its own tenant's cached reads of the table, not the other's.
    await tenancy.run(a.id, () => db.insert(schema.items).values({ owner: a.slug, label: 'second' }));
    await tenancy.run(a.id, async () =>
      expect(await db.select().from(schema.items).$withCache({ tag: 'all-items', autoInvalidate: true })).toHaveLength(2),
    );
    expect([...cache.entries.keys()].filter((k) => k.startsWith(`tenantry:${b.id}:`)).length).toBeGreaterThan(0);
    // Outside a tenant context, a cached query fails rather than answer from the cache.
    await expect(db.select().from(schema.items).$withCache({ tag: 'all-items' })).rejects.toMatchObject({ code: 'TENANT_REQUIRED' });
  });

  it("with the 'all' strategy every select is cached per tenant", async () => {
    const cache = new MemoryCache('all');
    const { tenancy, db } = await setup('drizzle-cache-all', cache);
    const [a, b] = [await tenancy.tenants.create({ slug: 'da-a', name: 'A' }), await tenancy.tenants.create({ slug: 'da-b', name: 'B' })];
    for (const t of [a, b]) await tenancy.run(t.id, () => db.insert(schema.items).values({ owner: t.slug, label: 'mine' }));
    for (const t of [a, b, a, b])
      expect(await tenancy.run(t.id, async () => (await db.select().from(schema.items)).map((r) => r.owner))).toEqual([t.slug]);
    expect(cache.entries.size).toBe(2);
  });
});
