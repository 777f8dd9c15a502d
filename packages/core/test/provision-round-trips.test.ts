import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { runBatch, withLeadingStatements, type BatchError } from '../src/statement-batch.js';
import { NOT_IN_STATE, TenantRegistry } from '../src/registry/tenant-registry.js';

const h = await setupHarness();

/** Counts the round trips (pg `query` calls) made inside `count()`: pg.Client is wrapped, never replaced. */
const counting = new AsyncLocalStorage<{ n: number; texts: string[] }>();
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const originalQuery = proto.query;
proto.query = function (this: unknown, ...args: unknown[]): unknown {
  const store = counting.getStore();
  if (store !== undefined) {
    store.n++;
    const first = args[0] as string | { text?: string };
    store.texts.push(typeof first === 'string' ? first : (first.text ?? '<submittable>'));
  }
  return originalQuery.apply(this, args);
};
afterAll(() => {
  proto.query = originalQuery;
});

async function roundTrips(fn: () => Promise<unknown>): Promise<{ n: number; texts: string[] }> {
  const store = { n: 0, texts: [] as string[] };
  await counting.run(store, fn);
  return store;
}

describe('provisioning round trips', () => {
  it('a schema tenant in the registry database is created in 2 round trips plus one per migration script (one transaction), a cloned database tenant in 9 (they were 5 + 1 per migration, 9 + 2 before that; and 20)', async () => {
    const tenancy = await h.tenancy();
    // The first database tenant builds the template; the counted ones clone it.
    await tenancy.tenants.create({ slug: 'rt-warm-s', name: 'W' });
    await tenancy.tenants.create({ slug: 'rt-warm-d', name: 'W', isolation: 'database' });
    const schema = await roundTrips(() => tenancy.tenants.create({ slug: 'rt-s', name: 'S' }));
    const database = await roundTrips(() => tenancy.tenants.create({ slug: 'rt-d', name: 'D', isolation: 'database' }));
    // The fixture's two migrations are two scripts: one round trip each. The schema tenant's
    // other two: BEGIN + registry row + lock + role + schema + ledger; ledger rows + ACTIVE + COMMIT.
    expect(schema.texts.filter((t) => t === 'commit' || t === 'begin')).toEqual([]);
    expect(schema.n, schema.texts.join('\n---\n')).toBe(2 + 2);
    expect(database.n, database.texts.join('\n---\n')).toBeLessThanOrEqual(9);
    // Whole and usable: the ledger, its registry mirror, and the tenant's role.
    for (const slug of ['rt-s', 'rt-d']) {
      const t = await tenancy.tenants.get(slug);
      expect(t.status).toBe('ACTIVE');
      expect(t.schemaVersion).not.toBeNull();
      const mirrored = await h.admin.query<{ name: string }>('select name from tenantry.tenant_migrations where tenant_id = $1', [t.id]);
      expect(mirrored.rows.map((r) => r.name).at(-1)).toBe(t.schemaVersion);
      const who = await tenancy.withTenant(t.id, async (db) => (await db.query<{ u: string }>('select current_user as u')).rows[0]!.u);
      expect(who).toBe(t.role);
    }
    const ledger = await h.admin.query<{ name: string; applied_at: Date }>(
      `select name, applied_at from "${(await tenancy.tenants.get('rt-s')).physicalName}"._tenantry_migrations order by name`,
    );
    const mirror = await h.admin.query<{ name: string; applied_at: Date }>(
      'select name, applied_at from tenantry.tenant_migrations where tenant_id = $1 order by name',
      [(await tenancy.tenants.get('rt-s')).id],
    );
    expect(mirror.rows).toEqual(ledger.rows);
  });

  it('a recording sent with its COMMIT raises when the tenant is no longer PROVISIONING: nothing of the transaction is committed', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'rt-raise', name: 'R' });
    const client = new pg.Client(h.db.url);
    await client.connect();
    try {
      await client.query('create table commit_probe (n int)');
      await client.query('begin');
      await client.query('insert into commit_probe values (1)');
      const batched = withLeadingStatements(client as never, [], [{ text: 'commit' }]);
      const registry = new TenantRegistry(h.admin);
      const err = await registry
        .transition(t.id, { from: ['PROVISIONING'], to: 'ACTIVE', action: 'provisioned', orRaise: true }, batched)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: NOT_IN_STATE, message: 'the tenant is ACTIVE, not PROVISIONING' });
      await client.query('rollback');
      expect((await client.query('select count(*)::int as n from commit_probe')).rows[0]).toEqual({ n: 0 });
      // Without orRaise the same transition answers ok: false.
      expect(await registry.transition(t.id, { from: ['PROVISIONING'], to: 'ACTIVE', action: 'provisioned' })).toMatchObject({ ok: false });
    } finally {
      await client.end();
    }
  });

  it('a statement batch answers each statement in order; the first failure names its index and nothing after it runs', async () => {
    const client = new pg.Client(h.db.url);
    await client.connect();
    try {
      const results = await runBatch(client, [
        { text: 'select $1::int as a', values: [1] },
        { text: 'select $1::text as b', values: ["it's"] },
      ]);
      expect(results.map((r) => r.rows[0])).toEqual([{ a: 1 }, { b: "it's" }]);
      await client.query('create table batch_probe (n int)');
      const err = (await runBatch(client, [
        { text: 'begin' },
        { text: 'insert into batch_probe values ($1)', values: [1] },
        { text: 'select 1 / $1::int', values: [0] },
        { text: 'insert into batch_probe values ($1)', values: [2] },
        { text: 'commit' },
      ]).catch((e: unknown) => e)) as BatchError;
      expect(err.batchIndex).toBe(2);
      expect((err as { code?: string }).code).toBe('22012');
      // The explicit transaction is left failed (the commit never ran): only a rollback ends it.
      await expect(client.query('select 1')).rejects.toMatchObject({ code: '25P02' });
      await client.query('rollback');
      expect((await client.query('select count(*)::int as n from batch_probe')).rows[0]).toEqual({ n: 0 });
    } finally {
      await client.end();
    }
  });
});
