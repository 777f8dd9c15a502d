import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { createTenancy, migrationList, type Tenancy } from '../src/index.js';
import { silentLogger } from '../src/logger.js';
import { homeSlot, ServerPool, type PooledClient, type ServerPoolSettings } from '../src/server-pool.js';

const h = await setupHarness();

const migrations = migrationList([{ name: '0001_items', up: 'create table items (id int primary key, v text not null)' }]);

/** `n` tenant names (not registered: the server pool only needs a name per tenant) whose home among `slots` is `slot`. */
function tenantsAtHome(slot: number, slots: number, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (homeSlot(`${prefix}-${i}`, slots) === slot) out.push(`${prefix}-${i}`);
  return out;
}

async function pidOf(client: PooledClient): Promise<number> {
  return (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
}

/** Resolves once `check` holds, looking every few milliseconds (progress, not timing: it fails by the test's timeout). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

/**
 * `units` units of work on tenants picked by a seeded generator (the same sequence for every
 * run), from `callers` concurrent callers; returns the distinct (backend pid, tenant) pairs seen.
 */
async function pairsOver(tenancy: Tenancy, ids: readonly string[], units: number, callers: number): Promise<number> {
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  const order = Array.from({ length: units }, () => ids[next() % ids.length]!);
  const pairs = new Set<string>();
  let at = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (at < order.length) {
        const id = order[at++]!;
        const pid = await tenancy.withTenant(id, async (db) => {
          const r = await db.query<{ pid: number }>('select pg_backend_pid() as pid, count(*) from items');
          return r.rows[0]!.pid;
        });
        pairs.add(`${pid}/${id}`);
      }
    }),
  );
  return pairs.size;
}

describe('home connections', () => {
  it(
    '2,000 units of work over 200 tenants, 16 callers on 10 connections: with homes, at most 60% of the distinct backend–tenant pairs (cold first statements) of the same run without',
    { timeout: 180_000 },
    async () => {
      const creator = await h.tenancy({ migrations, applicationName: 'tenantry-home-create', pool: { max: 4 } });
      const ids: string[] = [];
      for (let i = 0; i < 200; i += 4) {
        const batch = await Promise.all(
          [0, 1, 2, 3].map((k) => creator.tenants.create({ slug: `home-${String(i + k).padStart(3, '0')}`, name: `H${i + k}` })),
        );
        ids.push(...batch.map((t) => t.id));
      }
      await creator.close();
      const run = async (homeConnections: boolean): Promise<number> => {
        const tenancy = await h.tenancy({
          migrations,
          applicationName: `tenantry-home-${String(homeConnections)}`,
          pool: { max: 10, homeConnections },
        });
        // The registry rows, cached before the run: lookups would take connections of the same budget.
        for (const id of ids) await tenancy.resolve(id);
        try {
          return await pairsOver(tenancy, ids, 2_000, 16);
        } finally {
          await tenancy.close();
        }
      };
      const withHomes = await run(true);
      const without = await run(false);
      process.stdout.write(
        `distinct (backend, tenant) pairs over 2,000 units of work, 200 tenants: homes ${withHomes}, no homes ${without}\n`,
      );
      // Measured: ≈ 630 against ≈ 1,270 (of 2,000 possible). Six callers wait at a time, so a
      // connection that comes back finds a waiter it serves warm about two times in three; the
      // third goes to the first in turn, cold — the price of never leaving a connection idle.
      expect(withHomes).toBeLessThanOrEqual(0.6 * without);
      expect(withHomes).toBeLessThanOrEqual(3.5 * ids.length);
    },
  );

  const settings: ServerPoolSettings = {
    capacity: 2,
    databasePoolMax: 1,
    acquireTimeoutMillis: 10_000,
    maxWaiting: 100,
    idleTimeoutMillis: 30_000,
    maxUses: 1_000,
    maxLifetimeSeconds: 3_600,
    connectTimeoutMillis: 5_000,
    retryDelayMillis: 1_000,
    applicationName: 'tenantry-home-pool',
  };

  it('an idle checkout takes the connection that last served the tenant, else its home, else the most recently used', async () => {
    const [h0] = tenantsAtHome(0, 2, 1, 'idle0');
    const [h1, other1] = tenantsAtHome(1, 2, 2, 'idle1');
    for (const homeConnections of [true, false]) {
      const pool = new ServerPool('home', h.db.url, { ...settings, homeConnections }, silentLogger);
      try {
        // Opened for their tenants: each connection's slot is its tenant's home.
        const c0 = await pool.acquire(undefined, h0);
        const c1 = await pool.acquire(undefined, h1);
        const [pid0, pid1] = [await pidOf(c0), await pidOf(c1)];
        pool.release(c1);
        pool.release(c0);
        // A tenant never served yet, at home on slot 1: its home, not the most recently released (slot 0).
        const o = await pool.acquire(undefined, other1);
        expect(await pidOf(o)).toBe(homeConnections ? pid1 : pid0);
        pool.release(o);
        // The connection that last served H0 is taken over its home… which is the same one here; and H1's last is slot 1.
        const again = await pool.acquire(undefined, h0);
        expect(await pidOf(again)).toBe(pid0);
        pool.release(again);
      } finally {
        await pool.close();
      }
    }
  });

  it(
    'a waiter passed over for waiters at their home is served in turn after as many passes as the budget (no starvation)',
    { timeout: 60_000 },
    async () => {
      const [holder0] = tenantsAtHome(0, 2, 1, 'hold0');
      const [holder1, waiterA] = tenantsAtHome(1, 2, 2, 'hold1');
      const atHome0 = tenantsAtHome(0, 2, 4, 'b');
      for (const homeConnections of [true, false]) {
        const pool = new ServerPool('home', h.db.url, { ...settings, homeConnections }, silentLogger);
        try {
          const c0 = await pool.acquire(undefined, holder0);
          const c1 = await pool.acquire(undefined, holder1);
          const pid0 = await pidOf(c0);
          // A waits first, for a tenant whose home (slot 1) stays busy; then four tenants at home on slot 0.
          const served: string[] = [];
          const names = ['A', 'B1', 'B2', 'B3', 'B4'];
          const queued = new Map(
            [waiterA!, ...atHome0].map((t, k) => [
              names[k]!,
              pool.acquire(undefined, t).then((client) => {
                served.push(names[k]!);
                return client;
              }),
            ]),
          );
          expect(pool.stats().waiting).toBe(5);
          // Slot 0 comes back five times, each time to the next waiter; slot 1 never does.
          let current = c0;
          for (let i = 0; i < 5; i++) {
            pool.release(current);
            await until(() => served.length === i + 1);
            current = await queued.get(served[i]!)!;
            expect(await pidOf(current)).toBe(pid0);
          }
          // With homes: B1 and B2 (at home) pass A twice — the budget — then A is served, then the others.
          expect(served).toEqual(homeConnections ? ['B1', 'B2', 'A', 'B3', 'B4'] : ['A', 'B1', 'B2', 'B3', 'B4']);
          pool.release(current);
          pool.release(c1);
        } finally {
          await pool.close();
        }
      }
    },
  );

  it('refuses a pool.homeConnections that is not a boolean with INVALID_ARGUMENT', async () => {
    await expect(createTenancy({ registryUrl: h.db.url, pool: { homeConnections: 'no' as never } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('pool.homeConnections must be a boolean'),
    });
  });
});
