import { fileURLToPath } from 'node:url';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { currentTenant } from '@tenantry/core';
import { drizzleMigrations, drizzleTenancy, tenantDb, unqualifyPublic } from '../dist/index.js';
import * as schema from './fixtures/schema.js';
import * as publicSchema from './fixtures/schema-public.js';
import { codeOf, setupHarness } from './helpers.js';

const h = await setupHarness();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('@tenantry/drizzle', () => {
  it('drizzle-kit\'s "public". qualifiers are removed: enum types and foreign keys live in each tenant', async () => {
    const tenancy = await h.tenancy({ migrations: drizzleMigrations(fixture('drizzle-public')), applicationName: 'drizzle-public' });
    const { db } = drizzleTenancy(tenancy, { schema: publicSchema });
    const [a, b] = [await tenancy.tenants.create({ slug: 'pub-a', name: 'A' }), await tenancy.tenants.create({ slug: 'pub-b', name: 'B' })];
    const authorOf = async (slug: string) =>
      await tenancy.run(slug, async () => (await db.insert(publicSchema.authors).values({ name: slug, mood: 'sad' }).returning())[0]!);
    const [authorA, authorB] = [await authorOf(a.slug), await authorOf(b.slug)];
    await tenancy.run(a.slug, async () => {
      await db.insert(publicSchema.books).values({ authorId: authorA.id, title: 'A book' });
      // The foreign key points at this tenant's authors: tenant B's author is unknown here.
      const err = await db
        .insert(publicSchema.books)
        .values({ authorId: authorB.id, title: 'stolen' })
        .catch((e: unknown) => e);
      expect(codeOf(err)).toBe('23503');
      const rows = await db.query.books.findMany({ with: undefined });
      expect(rows.map((r) => r.title)).toEqual(['A book']);
    });
    const { rows } = await h.admin.query<{ n: number }>(
      "select count(*)::int as n from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.typname = 'mood' and n.nspname = 'public'",
    );
    expect(rows[0]!.n).toBe(0);
    const { rows: perTenant } = await h.admin.query<{ s: string }>(
      "select n.nspname as s from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.typname = 'mood' order by 1",
    );
    expect(perTenant.map((r) => r.s).sort()).toEqual([a.physicalName, b.physicalName].sort());
    expect(unqualifyPublic(`REFERENCES "public"."authors"("id"); select '"public".x' -- "public".y`)).toBe(
      `REFERENCES "authors"("id"); select '"public".x' -- "public".y`,
    );
  });

  it('one Drizzle database for the application: relational queries, tenantDb() and bound handles resolve the tenant', async () => {
    const tenancy = await h.tenancy({
      migrations: drizzleMigrations(fixture('drizzle-v2')),
      applicationName: 'drizzle-one',
      pool: { max: 2 },
    });
    const adapter = drizzleTenancy(tenancy, { schema });
    const tenants = [
      await tenancy.tenants.create({ slug: 'one-a', name: 'A' }),
      await tenancy.tenants.create({ slug: 'one-b', name: 'B' }),
    ];
    await Promise.all(
      tenants.map((t) =>
        tenancy.run(t.id, async () => void (await tenantDb<typeof schema>().insert(schema.items).values({ owner: t.slug, label: 'x' }))),
      ),
    );
    for (const t of tenants) {
      await tenancy.run(t.slug, async () => {
        expect(await adapter.db.query.items.findMany({ columns: { owner: true } })).toEqual([{ owner: t.slug }]);
        expect(await tenantDb<typeof schema>().select().from(schema.items).where(eq(schema.items.owner, t.slug))).toHaveLength(1);
      });
      await tenancy.withTenant(t.id, async (uow) => {
        expect(adapter.bind(uow)).toBe(adapter.bind(uow));
        expect(await adapter.bind(uow).$count(schema.items)).toBe(1);
      });
    }
    // db.$client is Tenantry's pool: ending it is a no-op, the tenancy owns the connections.
    await adapter.db.$client.end();
    expect(await tenancy.run('one-a', async () => await adapter.db.$count(schema.items))).toBe(1);
  });

  it('transactions with an isolation level or access mode are refused with a clear error', async () => {
    const tenancy = await h.tenancy({ migrations: drizzleMigrations(fixture('drizzle-v1')), applicationName: 'drizzle-iso' });
    const { db } = drizzleTenancy(tenancy, { schema });
    await tenancy.tenants.create({ slug: 'iso-a', name: 'A' });
    const err = await tenancy
      .run('iso-a', () =>
        db.transaction(async (tx) => void (await tx.insert(schema.items).values({ owner: 'a', label: 'x' })), {
          isolationLevel: 'serializable',
        }),
      )
      .catch((e: unknown) => e);
    expect(codeOf(err)).toBe('INVALID_ARGUMENT');
    expect(await tenancy.run('iso-a', async () => await db.$count(schema.items))).toBe(0);
  });

  it('a Drizzle query returned unawaited from run() or withTenant() still runs in the tenant', async () => {
    const tenancy = await h.tenancy({ migrations: drizzleMigrations(fixture('drizzle-v1')), applicationName: 'drizzle-lazy' });
    const { db } = drizzleTenancy(tenancy, { schema });
    const t = await tenancy.tenants.create({ slug: 'lazy-a', name: 'A' });
    const thenable = { then: (resolve: (v: unknown) => void) => resolve(currentTenant()?.slug) };
    expect(await tenancy.run(t.id, () => thenable as unknown as Promise<unknown>)).toBe(t.slug);
    await tenancy.run(t.id, () => db.insert(schema.items).values({ owner: 'lazy', label: 'x' }));
    expect(await tenancy.run(t.id, () => db.select().from(schema.items))).toHaveLength(1);
  });

  it('a folder without a journal, or a journal naming a missing file, is refused', async () => {
    await expect(drizzleMigrations(fixture('nope')).load()).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('drizzle-kit generate'),
    });
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-drizzle-'));
    await mkdir(join(dir, 'meta'));
    await writeFile(join(dir, 'meta', '_journal.json'), JSON.stringify({ dialect: 'postgresql', entries: [{ idx: 0, tag: '0000_gone' }] }));
    await expect(drizzleMigrations(dir).load()).rejects.toMatchObject({ code: 'MIGRATION_INVALID', context: { migration: '0000_gone' } });
    expect(() => drizzleTenancy({ withTenant: async () => undefined } as never, { client: {} } as never)).toThrow(/no 'client'/);
  });
});
