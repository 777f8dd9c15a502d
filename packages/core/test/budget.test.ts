import { describe, expect, it } from 'vitest';
import { setupHarness, pooledConnections } from './helpers.js';
import { migrationList, type Tenant } from '../src/index.js';

const h = await setupHarness();

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('connection budget', () => {
  it('2,000 tenants hit at random by 64 concurrent callers never use more than pool.max server connections', { timeout: 240_000 }, async () => {
    const max = 4;
    const tenancy = await h.tenancy({
      applicationName: 'tenantry-b1',
      // Roles are not what this test is about; creating 2,000 of them only slows its setup.
      tenantRoles: false,
      pool: { max, acquireTimeoutMillis: 60_000 },
      migrations: migrationList([{ name: '0001_items', up: 'create table items (id int primary key, owner uuid not null)' }]),
    });
    const tenants: Tenant[] = await mapLimit(
      Array.from({ length: 2000 }, (_, i) => i),
      4,
      (i) => tenancy.tenants.create({ slug: `b-${i}`, name: `B ${i}` }),
    );
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await pooledConnections(h.admin, h.db.name, 'tenantry-b1'));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let done = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let k = 0; k < 40; k++) {
          const t = tenants[Math.floor(Math.random() * tenants.length)]!;
          await tenancy.withTenant(t.id, async (db) => {
            await db.query('insert into items (id, owner) values ($1, $2) on conflict (id) do nothing', [k, t.id]);
            const { rows } = await db.query<{ owner: string }>('select distinct owner from items');
            expect(rows).toEqual([{ owner: t.id }]);
          });
          done++;
        }
      }),
    );
    sampling = false;
    await sampler;
    expect(done).toBe(64 * 40);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(max);
    const stats = tenancy.stats().servers[0]!;
    expect(stats.total).toBeLessThanOrEqual(max);
    expect(stats.max).toBe(max);
  });

  it('callers beyond the budget wait, then fail with CONNECTION_BUDGET_EXHAUSTED rather than opening more', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1, acquireTimeoutMillis: 200 }, migrations: migrationList([]), applicationName: 'tenantry-b2' });
    await tenancy.tenants.create({ slug: 'busy', name: 'Busy' });
    const holder = tenancy.withTenant('busy', (db) => db.query('select pg_sleep(1)'));
    await new Promise((r) => setTimeout(r, 50));
    await expect(tenancy.withTenant('busy', (db) => db.query('select 1'))).rejects.toMatchObject({
      code: 'CONNECTION_BUDGET_EXHAUSTED',
      message: expect.stringContaining('raise pool.max'),
    });
    await holder;
    expect(await pooledConnections(h.admin, h.db.name, 'tenantry-b2')).toBeLessThanOrEqual(1);
  });
});
