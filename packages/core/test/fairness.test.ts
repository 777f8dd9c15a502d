import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { createTenancy, migrationList, type Tenancy } from '../src/index.js';

const h = await setupHarness();

/** A gate callers wait at until it is opened. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Resolves once `check` holds, looking every few milliseconds (progress, not timing: it fails by the test's timeout). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

function waitingOn(tenancy: Tenancy): number {
  return tenancy.stats().servers.find((s) => s.server === 'default')!.waiting;
}

describe('connection shares', () => {
  it(
    'a tenant flooding with 32 callers holds no more than its share while another tenant is served at once',
    { timeout: 60_000 },
    async () => {
      const tenancy = await h.tenancy({
        migrations: migrationList([]),
        applicationName: 'tenantry-fair-flood',
        pool: { max: 4, acquireTimeoutMillis: 20_000 },
        plans: { FLOOD: { maxConnectionShare: 0.5 } },
      });
      const a = await tenancy.tenants.create({ slug: 'flood-a', name: 'A', plan: 'FLOOD' });
      const b = await tenancy.tenants.create({ slug: 'flood-b', name: 'B' });
      // Warm the registry cache: the lookups would otherwise use the same budget.
      await tenancy.withTenant(a.id, (db) => db.query('select 1'));
      await tenancy.withTenant(b.id, (db) => db.query('select 1'));

      const held = gate();
      let inside = 0;
      let peak = 0;
      let sharesSeen = 0;
      const flood = Array.from({ length: 32 }, () =>
        tenancy.withTenant(a.id, async (db) => {
          inside++;
          peak = Math.max(peak, inside);
          await db.query('select 1');
          await held.wait;
          inside--;
        }),
      );
      // A is at its share (2 of 4) with the other 30 callers waiting.
      await until(() => inside === 2 && waitingOn(tenancy) === 30);
      const aStats = tenancy.stats().servers[0]!.tenants.find((t) => t.tenant === a.id)!;
      expect(aStats).toMatchObject({ plan: 'FLOOD', inUse: 2, share: 2, waiting: 30 });

      // B is served while A's flood still waits (on the old pool A took all 4 and B queued behind 28 callers).
      const served = await tenancy.withTenant(b.id, async (db) => {
        sharesSeen = inside;
        return (await db.query<{ one: number }>('select 1 as one')).rows[0]!.one;
      });
      expect(served).toBe(1);
      expect(sharesSeen).toBe(2);
      expect(inside).toBe(2);

      held.open();
      await Promise.all(flood);
      expect(peak).toBe(2);
      expect(tenancy.stats().servers[0]!.tenants).toEqual([]);
    },
  );

  it('a plan change applies to the next unit of work without a restart', { timeout: 60_000 }, async () => {
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      applicationName: 'tenantry-fair-change',
      pool: { max: 4 },
      plans: { SMALL: { maxConnectionShare: 1 }, BIG: { maxConnectionShare: 3 } },
    });
    const t = await tenancy.tenants.create({ slug: 'changer', name: 'C', plan: 'SMALL' });
    const peakOf = async (): Promise<number> => {
      const held = gate();
      let inside = 0;
      let peak = 0;
      const runs = Array.from({ length: 6 }, () =>
        tenancy.withTenant(t.id, async () => {
          inside++;
          peak = Math.max(peak, inside);
          await held.wait;
          inside--;
        }),
      );
      await until(() => inside > 0 && waitingOn(tenancy) === 6 - inside);
      held.open();
      await Promise.all(runs);
      return peak;
    };
    expect(await peakOf()).toBe(1);
    await tenancy.tenants.update(t.id, { plan: 'BIG' });
    expect(await peakOf()).toBe(3);
    expect(tenancy.plans.of({ plan: 'BIG' })).toMatchObject({ name: 'BIG', maxConnectionShare: 3 });
    expect(tenancy.plans.of({ plan: 'NO-SUCH' }).name).toBe('default');
  });
});

describe('a tenant at its share', () => {
  it('waits, then fails with CONNECTION_BUDGET_EXHAUSTED naming the share, while connections are free', { timeout: 60_000 }, async () => {
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      applicationName: 'tenantry-fair-cap',
      pool: { max: 4, acquireTimeoutMillis: 300 },
      plans: { default: { maxConnectionShare: 1 } },
    });
    const t = await tenancy.tenants.create({ slug: 'capped', name: 'Capped' });
    const held = gate();
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holder = tenancy.withTenant(t.id, async () => {
      entered();
      await held.wait;
    });
    await inside;
    await expect(tenancy.withTenant(t.id, (db) => db.query('select 1'))).rejects.toMatchObject({
      code: 'CONNECTION_BUDGET_EXHAUSTED',
      message: expect.stringContaining("holds its plan's share of server 'default' (1 of 4 connections, plan 'default')"),
    });
    held.open();
    await holder;
  });
});

describe('the wait queue', () => {
  it('serves waiting tenants in turn, not first come first served', { timeout: 60_000 }, async () => {
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      applicationName: 'tenantry-fair-rr',
      pool: { max: 2, acquireTimeoutMillis: 20_000 },
    });
    const [a, b, c] = await Promise.all(['rr-a', 'rr-b', 'rr-c'].map((slug) => tenancy.tenants.create({ slug, name: slug })));
    for (const t of [a!, b!, c!]) await tenancy.withTenant(t.id, (db) => db.query('select 1'));

    // A holds both connections, then six more of A's callers queue, then one of B and one of C.
    const held = gate();
    let holding = 0;
    const holders = Array.from({ length: 2 }, () =>
      tenancy.withTenant(a!.id, async () => {
        holding++;
        await held.wait;
      }),
    );
    await until(() => holding === 2);
    const order: string[] = [];
    const queued: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) queued.push(tenancy.withTenant(a!.id, async () => void order.push('a')));
    await until(() => waitingOn(tenancy) === 6);
    queued.push(tenancy.withTenant(b!.id, async () => void order.push('b')));
    queued.push(tenancy.withTenant(c!.id, async () => void order.push('c')));
    await until(() => waitingOn(tenancy) === 8);

    held.open();
    await Promise.all([...holders, ...queued]);
    expect(order).toHaveLength(8);
    // In turn: B and C are served among the first three, not after A's six (first come first served).
    expect(order.slice(0, 3).sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('statement timeouts', () => {
  it(
    'a statement over its plan’s timeout fails with 57014; the next unit of work, of another plan, on the same connection, is not limited',
    { timeout: 60_000 },
    async () => {
      const tenancy = await h.tenancy({
        migrations: migrationList([]),
        applicationName: 'tenantry-fair-timeout',
        // One connection: both tenants' units of work run on the same backend.
        pool: { max: 1 },
        plans: { QUICK: { statementTimeoutMs: 150 }, default: {} },
      });
      const quick = await tenancy.tenants.create({ slug: 'quick', name: 'Q', plan: 'QUICK' });
      const other = await tenancy.tenants.create({ slug: 'other', name: 'O' });
      const pid = async (id: string): Promise<number> =>
        (await tenancy.withTenant(id, (db) => db.query<{ pid: number }>('select pg_backend_pid() as pid'))).rows[0]!.pid;

      await expect(tenancy.withTenant(quick.id, (db) => db.query('select pg_sleep(2)'))).rejects.toMatchObject({ code: '57014' });
      // Inside a transaction too, and the transaction is rolled back.
      await expect(
        tenancy.withTenant(quick.id, (db) => db.transaction(async (tx) => tx.query('select pg_sleep(2)'))),
      ).rejects.toMatchObject({ code: '57014' });
      // The tenant's SQL cannot lift it: a session SET is overridden by the next prefix, a set_config comes after the timer is armed.
      await expect(
        tenancy.withTenant(quick.id, async (db) => {
          await db.query('set statement_timeout = 0');
          await db.query('select pg_sleep(2)');
        }),
      ).rejects.toMatchObject({ code: '57014' });
      await expect(
        tenancy.withTenant(quick.id, (db) => db.query("select pg_catalog.set_config('statement_timeout', '0', false), pg_sleep(2)")),
      ).rejects.toMatchObject({ code: '57014' });
      // The setting is the tenant's for every statement, gone after it.
      const shown = await tenancy.withTenant(quick.id, (db) => db.query<{ statement_timeout: string }>('show statement_timeout'));
      expect(shown.rows[0]!.statement_timeout).toBe('150ms');

      const before = await pid(quick.id);
      const after = await tenancy.withTenant(other.id, async (db) => {
        await db.query('select pg_sleep(0.4)');
        return (
          await db.query<{ pid: number; statement_timeout: string }>(
            'select pg_backend_pid() as pid, current_setting($1) as statement_timeout',
            ['statement_timeout'],
          )
        ).rows[0]!;
      });
      expect(after.pid).toBe(before);
      expect(after.statement_timeout).toBe('0');

      // Moved to the plan at run time: limited from its next unit of work.
      await tenancy.tenants.update(other.id, { plan: 'QUICK' });
      await expect(tenancy.withTenant(other.id, (db) => db.query('select pg_sleep(2)'))).rejects.toMatchObject({ code: '57014' });
    },
  );
});

describe('plan options', () => {
  it.each([
    [{ x: { maxConnectionShare: 1.5 } }, 'plans.x.maxConnectionShare must be a fraction of the budget (0 < x < 1) or a count'],
    [{ x: { maxConnectionShare: 0 } }, 'plans.x.maxConnectionShare must be'],
    [{ x: { statementTimeoutMs: -1 } }, 'plans.x.statementTimeoutMs must be an integer number of milliseconds'],
    [{ x: { requestsPerSecond: 0 } }, 'plans.x.requestsPerSecond must be a number > 0'],
    [{ x: { maxConnections: 2 } }, 'plans.x.maxConnections is not a plan limit'],
    [{ x: 3 }, 'plans.x must be an object'],
    [[], 'plans must be an object of limits per plan name'],
  ])('refuses %j with INVALID_ARGUMENT, naming the limit', async (plans, message) => {
    await expect(createTenancy({ registryUrl: h.db.url, plans: plans as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(message),
    });
  });
});
