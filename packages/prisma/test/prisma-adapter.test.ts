import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Tenancy } from '@tenantry/core';
import { prismaMigrations, prismaTenancy, tenantPrisma, unqualifyPublic, type PrismaAdapter } from '../dist/index.js';
import { PrismaClient } from './fixtures/generated/client.js';
import { codeOf, setupHarness } from './helpers.js';

const h = await setupHarness();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function setup(
  app: string,
  options: { max?: number; maxClients?: number; idleTimeoutMs?: number; onDisconnect?: (slug: string) => void } = {},
): Promise<{ tenancy: Tenancy; adapter: PrismaAdapter<PrismaClient> }> {
  const tenancy = await h.tenancy({
    migrations: prismaMigrations(fixture('migrations-v2')),
    applicationName: app,
    pool: { max: options.max ?? 4 },
  });
  const adapter = prismaTenancy(tenancy, {
    createClient: (pg, tenant) => {
      const client = new PrismaClient({ adapter: pg, transactionOptions: { maxWait: 10_000 } });
      const disconnect = client.$disconnect.bind(client);
      return Object.assign(client, { $disconnect: async () => (options.onDisconnect?.(tenant.slug), await disconnect()) });
    },
    ...(options.maxClients === undefined ? {} : { maxClients: options.maxClients }),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
  });
  return { tenancy, adapter };
}

const schemaOf = async (prisma: PrismaClient) => (await prisma.$queryRaw<{ s: string }[]>`select current_schema() as s`)[0]!.s;

describe('@tenantry/prisma', () => {
  it('one cached client per tenant, on Tenantry connections only; the context client resolves the tenant at each use', async () => {
    const { tenancy, adapter } = await setup('prisma-one');
    const tenants = [];
    for (let i = 0; i < 4; i++)
      tenants.push(await tenancy.tenants.create({ slug: `one-${i}`, name: `One ${i}`, isolation: i === 3 ? 'database' : 'schema' }));
    const singleton = adapter.client; // kept, like a NestJS singleton provider
    await Promise.all(tenants.map((t) => tenancy.run(t.id, () => singleton.item.create({ data: { owner: t.slug, label: 'first' } }))));
    for (const t of tenants) {
      await tenancy.run(t.slug, async () => {
        const prisma = tenantPrisma<PrismaClient>();
        expect(tenantPrisma()).toBe(prisma);
        expect(await prisma.item.findMany({ select: { owner: true } })).toEqual([{ owner: t.slug }]);
        expect(await singleton.item.count()).toBe(1);
        // Prisma qualifies tables with the client's schema; raw SQL gets the tenant's search_path.
        expect(await schemaOf(prisma)).toBe(t.isolation === 'schema' ? t.physicalName : 'public');
      });
    }
    expect(adapter.stats()).toMatchObject({ clients: 4, maxClients: 50, tenants: tenants.map((t) => t.slug) });
    const { rows } = await h.admin.query<{ app: string; n: number }>(
      "select application_name as app, count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and (datname = $1 or datname like 't\\_%') group by 1",
      [h.db.name],
    );
    // Only Tenantry's pool (within its budget of 4) and its listener: Prisma opened nothing.
    expect(rows.find((r) => r.app === '')).toBeUndefined();
    expect(rows.filter((r) => r.app.startsWith('prisma-one')).reduce((n, r) => n + r.n, 0)).toBeLessThanOrEqual(4 + 1);
    await adapter.close();
  });

  it("a client stays in its own tenant in any context, even when Prisma batches findUnique calls of several tenants' requests", async () => {
    const { tenancy, adapter } = await setup('prisma-own');
    const [a, b] = [
      await tenancy.tenants.create({ slug: 'own-a', name: 'A' }),
      await tenancy.tenants.create({ slug: 'own-b', name: 'B', isolation: 'database' }),
    ];
    for (const t of [a, b])
      await tenancy.run(t.id, () => tenantPrisma<PrismaClient>().item.create({ data: { id: 1, owner: t.slug, label: 'one' } }));
    // Same tick, same id, two tenants: each request gets its own tenant's row.
    const found = await Promise.all([a, b, a, b].map((t) => tenancy.run(t.id, () => adapter.client.item.findUnique({ where: { id: 1 } }))));
    expect(found.map((r) => r?.owner)).toEqual(['own-a', 'own-b', 'own-a', 'own-b']);
    const clientOfA = await adapter.forTenant('own-a');
    expect(await tenancy.run(b.id, () => clientOfA.item.findMany({ select: { owner: true } }))).toEqual([{ owner: 'own-a' }]);
    // Its tenant's status is checked at each statement.
    await tenancy.tenants.suspend(a.id);
    expect(codeOf(await clientOfA.item.count().catch((e: unknown) => e))).toBe('TENANT_SUSPENDED');
    await expect(adapter.forTenant('own-a')).rejects.toMatchObject({ code: 'TENANT_SUSPENDED' });
    await adapter.close();
  });

  it('outside a tenant context the context client and tenantPrisma() refuse with TENANT_REQUIRED', async () => {
    const { adapter } = await setup('prisma-none');
    expect(() => adapter.client.item).toThrow(expect.objectContaining({ code: 'TENANT_REQUIRED' }));
    expect(() => tenantPrisma()).toThrow(expect.objectContaining({ code: 'TENANT_REQUIRED' }));
    // Awaiting the proxy (returning it from an async function) is harmless.
    expect(await Promise.resolve(adapter.client)).toBe(adapter.client);
    await adapter.close();
  });

  it("answers Nest's discovery and lifecycle probes outside a tenant context instead of throwing TENANT_REQUIRED", async () => {
    const { tenancy, adapter } = await setup('prisma-probes');
    const client = adapter.client as unknown as Record<PropertyKey, unknown>;
    // What NestJS reads of every provider instance at boot and shutdown, and what `await` reads.
    for (const name of [
      'constructor',
      'onModuleInit',
      'onApplicationBootstrap',
      'onModuleDestroy',
      'beforeApplicationShutdown',
      'onApplicationShutdown',
      'then',
      'toJSON',
    ]) {
      expect(client[name], name).toBeUndefined();
      expect(name in client, name).toBe(false);
    }
    expect(client[Symbol.iterator]).toBeUndefined();
    expect(Object.getPrototypeOf(adapter.client)).toBeNull(); // Nest's MetadataScanner finds no method to read
    expect(JSON.stringify(adapter.client)).toBe('{}');
    // A recipe's onModuleInit() { await this.$connect() } is harmless; so is $disconnect() at shutdown.
    await expect(adapter.client.$connect()).resolves.toBeUndefined();
    await expect(adapter.client.$disconnect()).resolves.toBeUndefined();
    // Prisma's own members still refuse without a tenant, and work with one.
    expect(() => adapter.client.item).toThrow(expect.objectContaining({ code: 'TENANT_REQUIRED' }));
    const t = await tenancy.tenants.create({ slug: 'probes-a', name: 'A' });
    expect(await tenancy.run(t.id, () => adapter.client.item.count())).toBe(0);
    expect(await tenancy.run(t.id, async () => 'item' in adapter.client)).toBe(true);
    await adapter.close();
  });

  it('the cache is bounded (LRU) and evicts idle clients; an evicted client is disconnected only once its transaction ends', async () => {
    const disconnected: string[] = [];
    const { tenancy, adapter } = await setup('prisma-lru', {
      maxClients: 2,
      idleTimeoutMs: 200,
      onDisconnect: (slug) => disconnected.push(slug),
    });
    const [a, b, c] = [
      await tenancy.tenants.create({ slug: 'lru-a', name: 'A' }),
      await tenancy.tenants.create({ slug: 'lru-b', name: 'B' }),
      await tenancy.tenants.create({ slug: 'lru-c', name: 'C' }),
    ];
    const evictedLater = await adapter.forTenant(a.id); // a client pinned to a, by name
    let finish!: () => void;
    const holding = new Promise<void>((r) => (finish = r));
    let started!: () => void;
    const inTransaction = new Promise<void>((r) => (started = r));
    const tx = tenancy.run(a.id, () =>
      tenantPrisma<PrismaClient>().$transaction(async (trx) => {
        await trx.item.create({ data: { owner: 'lru-a', label: 'in tx' } });
        started();
        await holding;
        await trx.item.create({ data: { owner: 'lru-a', label: 'after eviction' } });
      }),
    );
    await inTransaction;
    await tenancy.run(b.id, () => tenantPrisma<PrismaClient>().item.count());
    await tenancy.run(c.id, () => tenantPrisma<PrismaClient>().item.count()); // evicts a (least recently used)
    expect(adapter.stats()).toMatchObject({ clients: 2, tenants: ['lru-b', 'lru-c'] });
    await new Promise((r) => setTimeout(r, 50));
    expect(disconnected).toEqual([]); // a's transaction is still running
    finish();
    await tx;
    await new Promise((r) => setTimeout(r, 20));
    expect(disconnected).toEqual(['lru-a']);
    expect(await tenancy.run(a.id, () => tenantPrisma<PrismaClient>().item.count())).toBe(2); // a new client
    expect(await adapter.forTenant(a.id)).not.toBe(evictedLater);
    expect(await evictedLater.item.count()).toBe(2); // a client held past its eviction still works
    // Idle clients go after idleTimeoutMs.
    await expect.poll(() => adapter.stats().clients, { timeout: 5_000, interval: 50 }).toBe(0);
    expect(disconnected.sort()).toEqual(['lru-a', 'lru-a', 'lru-b', 'lru-c']);
    await adapter.close();
  });

  it('many tenant clients add no process listeners (no MaxListenersExceededWarning)', async () => {
    const { tenancy, adapter } = await setup('prisma-listeners');
    const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'uncaughtException', 'unhandledRejection'] as const;
    const before = events.map((e) => process.listenerCount(e));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 15; i++) {
        const t = await tenancy.tenants.create({ slug: `many-${i}`, name: `Many ${i}` });
        await tenancy.run(t.id, async () => {
          await tenantPrisma<PrismaClient>().item.count();
          await tenantPrisma<PrismaClient>().$transaction(async (tx) => tx.item.count());
        });
      }
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(adapter.stats().clients).toBe(15);
    expect(events.map((e) => process.listenerCount(e))).toEqual(before);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    await adapter.close();
  });

  it("bound clients run in the unit of work: inside db.transaction() Prisma's statements and $transaction() join it", async () => {
    const { tenancy, adapter } = await setup('prisma-bind', { max: 1 });
    const t = await tenancy.tenants.create({ slug: 'bind-a', name: 'A' });
    const rollback = new Error('roll back');
    await expect(
      tenancy.withTenant(t.id, (db) =>
        db.transaction(async (tx) => {
          const prisma = adapter.bind(tx);
          expect(adapter.bind(tx)).toBe(prisma);
          await tx.query("insert into items (owner, label) values ('bind', 'raw')");
          await prisma.item.create({ data: { owner: 'bind', label: 'orm' } });
          await prisma.$transaction([
            prisma.item.create({ data: { owner: 'bind', label: 'batch' } }),
            prisma.note.create({ data: { body: 'n' } }),
          ]);
          await prisma.$transaction(async (inner) => inner.item.create({ data: { owner: 'bind', label: 'interactive' } }));
          expect(await prisma.item.count()).toBe(4); // one connection (budget 1): all in tx
          throw rollback;
        }),
      ),
    ).rejects.toBe(rollback);
    expect(await tenancy.run(t.id, () => tenantPrisma<PrismaClient>().item.count())).toBe(0);
    await adapter.close();
  });

  it('a transaction Prisma gives up waiting for (maxWait) is rolled back and its unit of work released', async () => {
    const { tenancy, adapter } = await setup('prisma-wait', { max: 1 });
    const t = await tenancy.tenants.create({ slug: 'wait-a', name: 'A' });
    const prisma = await adapter.forTenant(t.id); // resolved (and cached) before the budget is taken
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const isHeld = new Promise<void>((r) => (holding = r));
    const holder = tenancy.withTenant(t.id, async () => {
      holding();
      await held;
    });
    await isHeld; // the only connection of the budget is taken
    const gaveUp = prisma
      .$transaction(async (tx) => tx.item.create({ data: { owner: 'late', label: 'x' } }), { maxWait: 100 })
      .catch((e: unknown) => e);
    expect(await gaveUp).toMatchObject({ code: 'P2028' });
    release();
    await holder;
    // The connection that came too late went back clean: the budget of 1 serves again.
    await expect.poll(async () => await tenancy.run(t.id, () => tenantPrisma<PrismaClient>().item.count()), { timeout: 5_000 }).toBe(0);
    const { rows } = await h.admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where application_name like 'prisma-wait%' and state like 'idle in transaction%'",
    );
    expect(rows[0]!.n).toBe(0);
    await adapter.close();
  });

  it('an isolation level is refused with a clear error; the unit of work is released', async () => {
    const { tenancy, adapter } = await setup('prisma-iso', { max: 1 });
    const t = await tenancy.tenants.create({ slug: 'iso-a', name: 'A' });
    const err = await tenancy
      .run(t.id, () =>
        tenantPrisma<PrismaClient>().$transaction(async (tx) => tx.item.create({ data: { owner: 'a', label: 'x' } }), {
          isolationLevel: 'Serializable',
        }),
      )
      .catch((e: unknown) => e);
    expect(codeOf(err)).toBe('INVALID_ARGUMENT');
    expect(String((err as Error).message)).toContain('isolation level');
    expect(await tenancy.run(t.id, () => tenantPrisma<PrismaClient>().item.count())).toBe(0);
    await adapter.close();
  });

  it('Prisma migration folders: "public". removed outside literals, down.sql for rollback, migration_lock.toml ignored', async () => {
    const tenancy = await h.tenancy({ migrations: prismaMigrations(fixture('migrations-down')), applicationName: 'prisma-mig' });
    const t = await tenancy.tenants.create({ slug: 'mig-a', name: 'A' });
    expect(t.schemaVersion).toBe('20240102000000_notes');
    expect(await tenancy.withTenant(t.id, async (db) => (await db.query('select body from notes')).rows)).toEqual([
      { body: 'see "public"."notes"' },
    ]);
    const { rows } = await h.admin.query<{ t: string | null }>("select to_regclass('public.notes')::text as t");
    expect(rows[0]!.t).toBeNull();
    const undone = await tenancy.rollback({ tenants: [t.id], steps: 1 });
    expect(undone.results[0]).toMatchObject({ status: 'rolled-back', applied: ['20240102000000_notes'] });
    const irreversible = await tenancy.rollback({ tenants: [t.id], steps: 1 });
    expect(irreversible.results[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'MIGRATION_IRREVERSIBLE' }) });
    await expect(prismaMigrations(fixture('migrations-broken')).load()).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('no migration.sql'),
    });
    await expect(prismaMigrations(fixture('nope')).load()).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
    expect(
      unqualifyPublic(
        `ALTER TABLE "public"."a" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "public"."b"("id"); -- "public".x\nselect '"public".y', $$ "public".z $$`,
      ),
    ).toBe(
      `ALTER TABLE "a" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "b"("id"); -- "public".x\nselect '"public".y', $$ "public".z $$`,
    );
  });

  it('refuses bad options', async () => {
    const tenancy = await h.tenancy({ applicationName: 'prisma-bad' });
    expect(() => prismaTenancy(tenancy, {} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => prismaTenancy(tenancy, { createClient: () => new PrismaClient({} as never), maxClients: 0 })).toThrow(/maxClients/);
  });

  it('the committed generated client matches schema.prisma and the installed Prisma', async () => {
    const require = createRequire(import.meta.url);
    const schema = await readFile(fixture('prisma/schema.prisma'), 'utf8');
    const generated = await readFile(fixture('generated/internal/class.ts'), 'utf8');
    const config = /const config: runtime\.GetPrismaClientConfig = (\{[\s\S]*?\n\})\n/.exec(generated);
    const { inlineSchema, clientVersion } = JSON.parse(config![1]!) as { inlineSchema: string; clientVersion: string };
    expect(inlineSchema, 'run `npm run -w @tenantry/prisma prisma:generate`').toBe(schema);
    expect(clientVersion).toBe((require('prisma/package.json') as { version: string }).version);
  });
});
