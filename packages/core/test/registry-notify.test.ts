import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { setupHarness } from './helpers.js';
import { migrationList, silentLogger, type Tenant, type Tenancy } from '../src/index.js';
import { TenantCache } from '../src/registry/registry-cache.js';
import { RegistryListener } from '../src/registry/registry-listener.js';

const h = await setupHarness();

/** Units of work that fill the cache with these tenants. */
async function warm(tenancy: Tenancy, tenants: readonly Tenant[]): Promise<void> {
  for (const t of tenants) await tenancy.withTenant(t.id, (db) => db.query('select 1'));
}

/** A client LISTENing on the registry channel, keeping every payload it hears. */
async function eavesdrop(): Promise<{ payloads: string[]; end(): Promise<void> }> {
  const client = new pg.Client({ connectionString: h.db.url, application_name: 'test-eavesdrop' });
  const payloads: string[] = [];
  client.on('notification', (m) => payloads.push(m.payload ?? ''));
  await client.connect();
  await client.query('listen tenantry_tenants');
  return { payloads, end: () => client.end() };
}

describe('registry invalidation that tenants cannot forge', () => {
  it("tenant SQL flooding pg_notify on the registry channel (with '*', ids, forged tags and replays) clears nothing", async () => {
    const mine = await h.tenancy({ migrations: migrationList([]), cache: { ttlMs: 3_600_000, invalidationIntervalMs: 100 } });
    const theirs = await h.tenancy({ migrations: migrationList([]), listen: false });
    const [a, b, c] = [
      await theirs.tenants.create({ slug: 'flood-a', name: 'A' }),
      await theirs.tenants.create({ slug: 'flood-b', name: 'B' }),
      await theirs.tenants.create({ slug: 'flood-c', name: 'C' }),
    ];
    // A genuine announcement, heard as any tenant can hear it (LISTEN needs no privilege).
    const ear = await eavesdrop();
    await theirs.tenants.update(b.id, { name: 'B2' });
    await expect.poll(() => ear.payloads.length).toBeGreaterThan(0);
    const genuine = ear.payloads[0]!;
    await ear.end();
    await new Promise((r) => setTimeout(r, 300)); // the creations' announcements, folded by the throttle, have landed
    await warm(mine, [a, b, c]);
    expect(mine.stats().cache.size).toBe(3);

    // Tenant A's own SQL, run as the tenant (its role when per-tenant roles are on).
    const forgedTag = genuine.replace(/[0-9a-f]{64}$/, '0'.repeat(64));
    const forgedStar = genuine.replace(b.id, '*');
    await mine.withTenant(a.id, async (db) => {
      await db.query(
        `select pg_notify('tenantry_tenants', p) from generate_series(1, 300),
                unnest(array['*', '', $1, $2, $3, $4, $5]) as p`,
        [b.id, c.id, forgedTag, forgedStar, genuine],
      );
    });
    // Another process's real change to C comes after the flood: once it is seen, so was the flood.
    await theirs.tenants.update(c.id, { name: 'C2' });
    await expect.poll(() => mine.stats().cache.size, { timeout: 5_000 }).toBeLessThan(3);
    await new Promise((r) => setTimeout(r, 100));
    // Only C went; A and B are still served from the cache.
    expect(mine.stats().cache.size).toBe(2);
    expect((await mine.resolve(c.id)).name).toBe('C2');
    expect(mine.stats().cache.size).toBe(3);
  });

  it('a forged single * is ignored; a signed one clears the cache', async () => {
    const mine = await h.tenancy({ migrations: migrationList([]), cache: { ttlMs: 3_600_000, invalidationIntervalMs: 100 } });
    const t = await mine.tenants.create({ slug: 'star', name: 'Star' });
    await new Promise((r) => setTimeout(r, 300)); // the creation's own announcements have landed
    await warm(mine, [t]);
    await h.admin.query("select pg_notify('tenantry_tenants', '*')");
    await h.admin.query("select pg_notify('tenantry_tenants', $1)", [t.id]);
    await new Promise((r) => setTimeout(r, 200));
    expect(mine.stats().cache.size).toBe(1);
    await h.admin.query("select tenantry.notify_change('*')");
    await expect.poll(() => mine.stats().cache.size, { timeout: 5_000 }).toBe(0);
  });

  it('tenant roles can neither read the notification key nor call the signing function', async () => {
    const mine = await h.tenancy({ migrations: migrationList([]) });
    const t = await mine.tenants.create({ slug: 'keyless', name: 'Keyless' });
    expect(t.role).not.toBeNull(); // the test server allows per-tenant roles
    const tryAs = (sql: string) =>
      mine
        .withTenant(t.id, (db) => db.query(sql))
        .then(
          () => 'ran',
          (e: { code?: string }) => e.code,
        );
    expect(await tryAs('select inner_key from tenantry.notify_key')).toBe('42501');
    expect(await tryAs("select tenantry.notify_change('*')")).toBe('42501');
  });

  it('a flood of validly signed notifications clears the cache at most once per interval', async () => {
    let clears = 0;
    let invalidations = 0;
    const cache = new (class extends TenantCache {
      override clear(): void {
        clears++;
        super.clear();
      }
      override invalidate(id: string): void {
        invalidations++;
        super.invalidate(id);
      }
    })({ invalidationIntervalMs: 200 });
    const listener = new RegistryListener(h.db.url, cache, silentLogger, 'test-flood');
    await listener.start();
    try {
      clears = 0;
      const id = '00000000-0000-4000-8000-000000000001';
      const started = Date.now();
      // What a tenant could send if it could read the key (per-tenant roles off): 4,000 distinct, valid ones.
      for (let i = 0; i < 4; i++)
        await h.admin.query("select tenantry.notify_change(x) from generate_series(1, 500), unnest(array['*', $1]) as x", [id]);
      await expect.poll(() => listener.stats().received, { timeout: 10_000 }).toBe(4_000);
      const elapsed = Date.now() - started;
      // The trailing one of each target: wait until nothing has changed for three intervals.
      for (let last = -1; last !== clears + invalidations;) {
        last = clears + invalidations;
        await new Promise((r) => setTimeout(r, 600));
      }
      const allowed = Math.ceil(elapsed / 200) + 2;
      expect(listener.stats()).toMatchObject({ received: 4_000, rejected: 0, replayed: 0 });
      expect(clears).toBeGreaterThanOrEqual(1);
      expect(clears).toBeLessThanOrEqual(allowed);
      expect(invalidations).toBeLessThanOrEqual(allowed);
      // A genuine change after the flood still lands (at most one interval late; the poll allows a slow machine).
      // Read the count first: the listener may apply the change before the query's promise resumes us.
      const before = clears;
      await h.admin.query("select tenantry.notify_change('*')");
      await expect.poll(() => clears, { timeout: 5_000 }).toBe(before + 1);
    } finally {
      await listener.close();
    }
  });
});
