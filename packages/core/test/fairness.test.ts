import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { createTenancy, migrationList, type Tenancy } from '../src/index.js';
import { quoteIdent } from '../src/identifiers.js';
import { silentLogger } from '../src/logger.js';
import { ServerPool, type PooledClient, type ServerPoolSettings } from '../src/server-pool.js';

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

/** A caller's own gate, recorded in `into` once it is inside its unit of work; `all` opens every gate at once. */
function heldCaller(into: (() => void)[], all: Promise<void>): Promise<void> {
  const g = gate();
  into.push(g.open);
  return Promise.race([g.wait, all]);
}

/**
 * Warms the registry cache for these tenants: a lookup would otherwise take a connection of the
 * same budget in the middle of a test. Twice, the second time after the registry's change
 * notifications of their creation have arrived (each drops the tenant from the cache).
 */
async function warm(tenancy: Tenancy, ...ids: string[]): Promise<void> {
  for (const id of ids) await tenancy.withTenant(id, (db) => db.query('select 1'));
  await new Promise((r) => setTimeout(r, 250));
  for (const id of ids) await tenancy.withTenant(id, (db) => db.query('select 1'));
}

/**
 * `callers` units of work of one tenant, each held inside (after a first statement) until its
 * own gate or `all` opens: `entered` has a gate per caller that got in, `counts` how many are
 * inside now and at most.
 */
function flood(
  tenancy: Tenancy,
  tenant: string,
  callers: number,
  all: Promise<void>,
): { runs: Promise<void>[]; entered: (() => void)[]; counts: { inside: number; peak: number } } {
  const entered: (() => void)[] = [];
  const counts = { inside: 0, peak: 0 };
  const runs = Array.from({ length: callers }, () =>
    tenancy.withTenant(tenant, async (db) => {
      counts.inside++;
      counts.peak = Math.max(counts.peak, counts.inside);
      await db.query('select 1');
      await heldCaller(entered, all);
      counts.inside--;
    }),
  );
  return { runs, entered, counts };
}

function tenantStats(tenancy: Tenancy, id: string): { inUse: number; share: number; waiting: number; plan: string } | undefined {
  return tenancy
    .stats()
    .servers.find((s) => s.server === 'default')!
    .tenants.find((t) => t.tenant === id);
}

describe('connection shares', () => {
  it(
    'a tenant flooding with 32 callers uses the whole budget while alone; once another tenant waits, every connection that comes back goes to it until the flood is down to its share',
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
      await warm(tenancy, a.id, b.id);

      const all = gate();
      const { runs: floodRuns, entered: aIn, counts } = flood(tenancy, a.id, 32, all.wait);
      const bIn: (() => void)[] = [];
      // Work-conserving: nobody else waits, so A takes all 4 connections, beyond its share of 2.
      await until(() => aIn.length === 4 && waitingOn(tenancy) === 28);
      expect(tenantStats(tenancy, a.id)).toMatchObject({ plan: 'FLOOD', inUse: 4, share: 2, waiting: 28 });

      // B queues three callers behind A's 28.
      const bRuns = Array.from({ length: 3 }, () =>
        tenancy.withTenant(b.id, async (db) => {
          await db.query('select 1');
          await heldCaller(bIn, all.wait);
        }),
      );
      await until(() => waitingOn(tenancy) === 31);
      // Two of A's connections come back: both go to B (A is above its share), none to A's earlier callers.
      aIn[0]!();
      aIn[1]!();
      await until(() => bIn.length === 2);
      expect(counts.inside).toBe(2);
      expect(tenantStats(tenancy, a.id)).toMatchObject({ inUse: 2, share: 2, waiting: 28 });
      expect(tenantStats(tenancy, b.id)).toMatchObject({ plan: 'default', inUse: 2, share: 4, waiting: 1 });

      all.open();
      await Promise.all([...floodRuns, ...bRuns]);
      expect(counts.peak).toBe(4);
      expect(tenancy.stats().servers[0]!.tenants).toEqual([]);
    },
  );

  it(
    'with pool.shareHeadroom 1 a flood over its share leaves one connection free: another tenant is served at once, and the flood gets it back when it goes',
    { timeout: 60_000 },
    async () => {
      const tenancy = await h.tenancy({
        migrations: migrationList([]),
        applicationName: 'tenantry-fair-headroom',
        pool: { max: 4, acquireTimeoutMillis: 20_000, shareHeadroom: 1 },
        plans: { FLOOD: { maxConnectionShare: 0.5 } },
      });
      const a = await tenancy.tenants.create({ slug: 'headroom-a', name: 'A', plan: 'FLOOD' });
      const b = await tenancy.tenants.create({ slug: 'headroom-b', name: 'B' });
      await warm(tenancy, a.id, b.id);

      const all = gate();
      const { runs: floodRuns, entered: aIn, counts } = flood(tenancy, a.id, 16, all.wait);
      // Over its share of 2, A takes all but one of the 4 connections, and nobody else waits.
      await until(() => aIn.length === 3 && waitingOn(tenancy) === 13);
      await new Promise((r) => setTimeout(r, 100));
      expect(aIn).toHaveLength(3);
      expect(tenantStats(tenancy, a.id)).toMatchObject({ inUse: 3, share: 2, waiting: 13 });

      // B's unit of work runs at once, on the connection kept free, while every A connection is held.
      const bResult = await tenancy.withTenant(b.id, (db) => db.query<{ one: number }>('select 1 as one'));
      expect(bResult.rows[0]!.one).toBe(1);
      expect(aIn).toHaveLength(3);

      // One of A's connections comes back: A's next caller gets it (one is still free for others).
      aIn[0]!();
      await until(() => aIn.length === 4);
      expect(tenantStats(tenancy, a.id)).toMatchObject({ inUse: 3, waiting: 12 });

      all.open();
      await Promise.all(floodRuns);
      expect(counts.peak).toBe(3);
    },
  );

  it('pool.shareHeadroom must be an integer below pool.max', async () => {
    await expect(createTenancy({ registryUrl: h.db.url, pool: { max: 4, shareHeadroom: 4 } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/pool.shareHeadroom must be below pool.max \(4\)/),
    });
    await expect(createTenancy({ registryUrl: h.db.url, pool: { shareHeadroom: -1 } })).rejects.toMatchObject({
      message: expect.stringMatching(/pool.shareHeadroom must be an integer ≥ 0/),
    });
  });

  it('a plan change applies to the next unit of work without a restart', { timeout: 60_000 }, async () => {
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      applicationName: 'tenantry-fair-change',
      pool: { max: 2 },
      plans: { SMALL: { maxConnectionShare: 1 }, BIG: { maxConnectionShare: 2 } },
    });
    const t = await tenancy.tenants.create({ slug: 'changer', name: 'C', plan: 'SMALL' });
    const u = await tenancy.tenants.create({ slug: 'change-u', name: 'U' });
    await warm(tenancy, t.id, u.id);
    /** T holds both connections, then one more of T's callers and one of U's wait: who gets the first one back? */
    const firstServed = async (): Promise<string> => {
      const all = gate();
      const tIn: (() => void)[] = [];
      const order: string[] = [];
      const holders = Array.from({ length: 2 }, () => tenancy.withTenant(t.id, () => heldCaller(tIn, all.wait)));
      await until(() => tIn.length === 2);
      const queued = [
        tenancy.withTenant(t.id, async () => {
          order.push('t');
          await all.wait;
        }),
      ];
      await until(() => waitingOn(tenancy) === 1);
      queued.push(
        tenancy.withTenant(u.id, async () => {
          order.push('u');
          await all.wait;
        }),
      );
      await until(() => waitingOn(tenancy) === 2);
      tIn[0]!();
      await until(() => order.length === 1);
      const first = order[0]!;
      all.open();
      await Promise.all([...holders, ...queued]);
      return first;
    };
    // SMALL: T holds its share (1) after giving one back, so U is served although T's caller waited first.
    expect(await firstServed()).toBe('u');
    await tenancy.tenants.update(t.id, { plan: 'BIG' });
    // The cached row is dropped by the registry's change notification; read once more, it names BIG.
    while ((await tenancy.resolve(t.id)).plan !== 'BIG') await new Promise((r) => setTimeout(r, 10));
    await warm(tenancy, t.id);
    // BIG: T is below its share (2): the queues are served in turn, T's first.
    expect(await firstServed()).toBe('t');
    expect(tenancy.plans.of({ plan: 'BIG' })).toMatchObject({ name: 'BIG', maxConnectionShare: 2 });
    expect(tenancy.plans.of({ plan: 'NO-SUCH' }).name).toBe('default');
  });
});

describe('a tenant at its share', () => {
  it('waits while others are served, then fails with CONNECTION_BUDGET_EXHAUSTED naming the share', { timeout: 60_000 }, async () => {
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      applicationName: 'tenantry-fair-cap',
      pool: { max: 3, acquireTimeoutMillis: 3_000 },
      plans: { default: { maxConnectionShare: 1 }, OPEN: {} },
    });
    const t = await tenancy.tenants.create({ slug: 'capped', name: 'Capped' });
    const u = await tenancy.tenants.create({ slug: 'uncapped', name: 'U', plan: 'OPEN' });
    await warm(tenancy, t.id, u.id);
    const all = gate();
    const tIn: (() => void)[] = [];
    const uIn: (() => void)[] = [];
    // Alone, T takes all three connections.
    const holders = Array.from({ length: 3 }, () => tenancy.withTenant(t.id, () => heldCaller(tIn, all.wait)));
    await until(() => tIn.length === 3);
    const late = tenancy.withTenant(t.id, (db) => db.query('select 1'));
    await until(() => waitingOn(tenancy) === 1);
    const others = Array.from({ length: 2 }, () => tenancy.withTenant(u.id, () => heldCaller(uIn, all.wait)));
    await until(() => waitingOn(tenancy) === 3);
    // Two of T's come back: both go to U's callers, who came later, while T's caller keeps waiting.
    tIn[0]!();
    tIn[1]!();
    await until(() => uIn.length === 2);
    expect(waitingOn(tenancy)).toBe(1);
    await expect(late).rejects.toMatchObject({
      code: 'CONNECTION_BUDGET_EXHAUSTED',
      message: expect.stringContaining("holds its plan's share of server 'default' (1 of 3 connections, plan 'default')"),
    });
    all.open();
    await Promise.all([...holders, ...others]);
  });
});

describe('the server pool', () => {
  const settings: ServerPoolSettings = {
    capacity: 1,
    databasePoolMax: 1,
    acquireTimeoutMillis: 4_000,
    maxWaiting: 100,
    idleTimeoutMillis: 30_000,
    maxUses: 1_000,
    maxLifetimeSeconds: 3_600,
    connectTimeoutMillis: 5_000,
    retryDelayMillis: 1_000,
    applicationName: 'tenantry-fair-pool',
  };
  const other = `${h.db.name}_other`;
  beforeAll(() => h.admin.query(`create database ${quoteIdent(other)}`));
  afterAll(() => h.admin.query(`drop database if exists ${quoteIdent(other)} with (force)`));

  async function databaseOfClient(client: PooledClient): Promise<string> {
    return (await client.query<{ db: string }>('select current_database() as db')).rows[0]!.db;
  }

  it(
    'a caller that closes an idle connection of another database to make room gets that room: a caller arriving meanwhile waits',
    { timeout: 60_000 },
    async () => {
      const pool = new ServerPool('fair', h.db.url, settings, silentLogger);
      try {
        const s1 = await pool.acquire(undefined, 'tenant-s');
        const d = pool.acquire(other, 'tenant-d');
        expect(pool.stats().waiting).toBe(1);
        // Back: D's waiter closes it (another database) and will open one of its own in its place.
        pool.release(s1);
        expect(pool.stats()).toMatchObject({ evictions: 1, waiting: 0 });
        // Arrives while the old connection is still closing.
        const s2 = pool.acquire(undefined, 'tenant-s2');
        expect(pool.stats().waiting).toBe(1);
        // The room is D's (before: S2 was given the freed slot, D queued again and timed out).
        const dc = await d;
        expect(await databaseOfClient(dc)).toBe(other);
        expect(pool.stats()).toMatchObject({ total: 1, waiting: 1 });
        pool.release(dc);
        const s2c = await s2;
        expect(await databaseOfClient(s2c)).toBe(h.db.name);
        pool.release(s2c);
        expect(pool.stats()).toMatchObject({ evictions: 2, opened: 3, total: 1 });
      } finally {
        await pool.close();
      }
    },
  );

  it(
    'a connection that comes back goes to a waiter of its own database before one that would have to close it and connect',
    { timeout: 60_000 },
    async () => {
      const pool = new ServerPool('fair', h.db.url, settings, silentLogger);
      try {
        const s1 = await pool.acquire(undefined, 'tenant-s');
        const d = pool.acquire(other, 'tenant-d');
        const s2 = pool.acquire(undefined, 'tenant-s2');
        // D waits first, but S2 can use the connection as it is: no close and connect.
        pool.release(s1);
        const s2c = await s2;
        expect(s2c).toBe(s1);
        expect(pool.stats()).toMatchObject({ evictions: 0, waiting: 1 });
        // Back again with no waiter of its database: D closes it and opens its own.
        pool.release(s2c);
        const dc = await d;
        expect(await databaseOfClient(dc)).toBe(other);
        expect(pool.stats()).toMatchObject({ evictions: 1, waiting: 0 });
        pool.release(dc);
      } finally {
        await pool.close();
      }
    },
  );
});

describe('the wait queue', () => {
  it('serves waiting tenants in turn, not first come first served', { timeout: 60_000 }, async () => {
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      applicationName: 'tenantry-fair-rr',
      // The strict turn. With home connections (the default) a returning connection may serve a
      // tenant it is warm for ahead of one in turn, at most pool.max times per waiter — which
      // tenant is warm depends on the ids' hash, so it is tested on its own terms in
      // home-connections.test.ts ("no starvation"), not here.
      pool: { max: 2, acquireTimeoutMillis: 20_000, homeConnections: false },
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
