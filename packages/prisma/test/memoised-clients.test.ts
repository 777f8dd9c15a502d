import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prismaMigrations, prismaTenancy, tenantPrisma } from '../dist/index.js';
import { PrismaClient } from './fixtures/generated/client.js';
import { setupHarness } from './helpers.js';

const h = await setupHarness();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Tenants A and B on one pooled connection, each with one row of its own. */
async function setup(app: string) {
  const tenancy = await h.tenancy({ migrations: prismaMigrations(fixture('migrations-v2')), applicationName: app, pool: { max: 1 } });
  const adapter = prismaTenancy(tenancy, { createClient: (pg) => new PrismaClient({ adapter: pg }) });
  const a = await tenancy.tenants.create({ slug: `${app}-a`, name: 'A' });
  const b = await tenancy.tenants.create({ slug: `${app}-b`, name: 'B' });
  for (const t of [a, b]) await tenancy.run(t.id, () => adapter.client.item.create({ data: { owner: t.slug, label: 'mine' } }));
  return { tenancy, adapter, a, b };
}

const owners = (rows: { owner: string }[]) => rows.map((r) => r.owner);

describe('@tenantry/prisma memoised clients', () => {
  it("a model delegate kept from tenant A's request answers B's request with B's rows", async () => {
    const { tenancy, adapter, a, b } = await setup('delegate');
    // A service field memoised during the first request (tenant A).
    const items = await tenancy.run(a.id, async () => adapter.client.item);
    const viaHelper = await tenancy.run(a.id, async () => tenantPrisma<PrismaClient>().item);
    const findMany = await tenancy.run(a.id, async () => adapter.client.item.findMany);
    const client = await tenancy.run(a.id, async () => tenantPrisma<PrismaClient>());
    for (const t of [b, a, b]) {
      await tenancy.run(t.id, async () => {
        expect(owners(await items.findMany())).toEqual([t.slug]);
        expect(owners(await viaHelper.findMany())).toEqual([t.slug]);
        expect(owners(await findMany())).toEqual([t.slug]);
        expect(owners(await client.item.findMany())).toEqual([t.slug]);
        expect(await client.$transaction(async (tx) => owners(await tx.item.findMany()))).toEqual([t.slug]);
      });
    }
    // Outside a tenant context the kept delegate refuses instead of using A.
    expect(() => items.findMany()).toThrow(expect.objectContaining({ code: 'TENANT_REQUIRED' }));
    await adapter.close();
  });

  it('an $extends client built once (during A) resolves the tenant at each call, and extends each tenant client once', async () => {
    const { tenancy, adapter, a, b } = await setup('extends');
    let built = 0;
    const extension = {
      name: 'labelled',
      model: {
        item: {
          async labels(this: unknown) {
            return (await tenantPrisma<PrismaClient>().item.findMany()).map((r) => `${r.owner}:${r.label}`);
          },
        },
      },
      query: {
        item: {
          async findMany({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) {
            return await query(args);
          },
        },
      },
    };
    const once = await tenancy.run(a.id, async () => {
      built++;
      return adapter.client.$extends(extension);
    });
    const fromRoot = adapter.client.$extends(extension); // built outside any context, like a module-level const
    for (const t of [b, a, b]) {
      await tenancy.run(t.id, async () => {
        expect(owners(await once.item.findMany())).toEqual([t.slug]);
        expect(owners(await fromRoot.item.findMany())).toEqual([t.slug]);
        expect(await once.item.labels()).toEqual([`${t.slug}:mine`]);
      });
    }
    expect(built).toBe(1);
    // The pinned client is forTenant()'s, by name.
    const pinned = await adapter.forTenant(a.id);
    expect(await tenancy.run(b.id, async () => owners(await pinned.item.findMany()))).toEqual([a.slug]);
    await adapter.close();
  });
});
