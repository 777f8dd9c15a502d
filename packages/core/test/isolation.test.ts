import { describe, expect, it } from 'vitest';
import { setupHarness, pooledConnections } from './helpers.js';
import type { Tenancy, Tenant } from '../src/index.js';

const h = await setupHarness();

async function defaultSearchPath(tenancy: Tenancy): Promise<string> {
  const { rows } = await tenancy.adminPool().query<{ p: string }>("select current_setting('search_path') as p");
  return rows[0]!.p;
}

const pause = () => new Promise<void>((r) => (Math.random() < 0.5 ? setImmediate(r) : setTimeout(r, Math.floor(Math.random() * 3))));

describe('isolation under interleaving', () => {
  it('50 tenants × 2,000 interleaved units of work on a pool of 2 only ever see their own rows', async () => {
    // 2,000 callers queue on 2 connections: give them time on a busy machine.
    const tenancy = await h.tenancy({ pool: { max: 2, acquireTimeoutMillis: 120_000 }, applicationName: 'tenantry-iso' });
    const baseline = await defaultSearchPath(tenancy);
    expect(baseline).toBe('"$user", public');
    const tenants: Tenant[] = [];
    for (let i = 0; i < 50; i++) tenants.push(await tenancy.tenants.create({ slug: `iso-${i}`, name: `Iso ${i}` }));
    for (const t of tenants) {
      await tenancy.withTenant(t.id, async (db) => {
        for (let k = 0; k < 3; k++) await db.query('insert into posts (title, owner) values ($1, $2)', [`${t.slug}:${k}`, t.slug]);
      });
    }
    let reads = 0;
    let probes = 0;
    const units = Array.from({ length: 2000 }, async (_, i) => {
      const t = tenants[Math.floor(Math.random() * tenants.length)]!;
      await pause();
      await tenancy.withTenant(t.slug, async (db) => {
        const mode = i % 4;
        if (mode === 0) {
          const { rows } = await db.query<{ owner: string }>('select owner from posts');
          expect(rows.length).toBe(3);
          for (const r of rows) expect(r.owner).toBe(t.slug);
        } else if (mode === 1) {
          await db.transaction(async (tx) => {
            await pause();
            const { rows } = await tx.query<{ owner: string; n: number }>('select owner, count(*)::int as n from posts group by owner');
            expect(rows).toEqual([{ owner: t.slug, n: 3 }]);
            await pause();
            const { rows: again } = await tx.query<{ owner: string }>('select owner from posts where title = $1', [`${t.slug}:1`]);
            expect(again).toEqual([{ owner: t.slug }]);
          });
        } else if (mode === 2) {
          const [a, b] = await Promise.all([
            db.query<{ owner: string }>('select owner from posts limit 1'),
            db.query<{ s: string }>('select current_schema() as s'),
          ]);
          expect(a.rows[0]!.owner).toBe(t.slug);
          expect(b.rows[0]!.s).toBe(t.physicalName);
        } else {
          // A write that is rolled back: must touch only this tenant, and not persist.
          await db
            .transaction(async (tx) => {
              await tx.query('update posts set title = title || $1', ['!']);
              await pause();
              throw new Error('roll back');
            })
            .catch(() => undefined);
        }
        reads++;
      });
      if (i % 50 === 0) {
        expect(await defaultSearchPath(tenancy)).toBe(baseline);
        probes++;
      }
    });
    await Promise.all(units);
    expect(reads).toBe(2000);
    expect(probes).toBe(40);
    // Nothing was written across tenants, nothing of the rolled-back writes persisted.
    const { rows } = await h.admin.query<{ n: number }>(
      `select count(*)::int as n from (${tenants.map((t) => `select owner, title from "${t.physicalName}".posts`).join(' union all ')}) x where title like '%!'`,
    );
    expect(rows[0]!.n).toBe(0);
    for (const t of tenants.slice(0, 5)) {
      const { rows: own } = await h.admin.query<{ owner: string }>(`select distinct owner from "${t.physicalName}".posts`);
      expect(own).toEqual([{ owner: t.slug }]);
    }
    expect(await pooledConnections(h.admin, h.db.name, 'tenantry-iso')).toBeLessThanOrEqual(2);
    expect(await defaultSearchPath(tenancy)).toBe(baseline);
  });

  it('a released connection (pool of 1) carries no search_path, role or transaction of the last tenant', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'solo', name: 'Solo' });
    await tenancy.withTenant('solo', (db) => db.query('select 1'));
    const { rows } = await tenancy
      .adminPool()
      .query<{ p: string; s: string; r: string }>(
        "select current_setting('search_path') as p, current_setting('transaction_read_only') as s, current_user as r",
      );
    expect(rows[0]).toEqual({ p: '"$user", public', s: 'off', r: decodeURIComponent(new URL(h.db.url).username) });
  });

  it('a unit of work prefers the idle connection that last served its tenant', async () => {
    const tenancy = await h.tenancy({ pool: { max: 2 } });
    await tenancy.tenants.create({ slug: 'aff-a', name: 'A' });
    await tenancy.tenants.create({ slug: 'aff-b', name: 'B' });
    const pid = (slug: string, hold = 0) =>
      tenancy.withTenant(slug, async (db) => {
        const p = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
        if (hold) await new Promise((r) => setTimeout(r, hold));
        return p;
      });
    // Two connections, one per tenant.
    const [a, b] = await Promise.all([pid('aff-a', 50), pid('aff-b', 50)]);
    expect(a).not.toBe(b);
    // Most-recently-used would hand out the same connection every time; affinity does not.
    for (let i = 0; i < 3; i++) {
      expect(await pid('aff-b')).toBe(b);
      expect(await pid('aff-a')).toBe(a);
    }
  });

  it('a read-only unit of work cannot write but can read', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'reader', name: 'Reader' });
    await expect(
      tenancy.withTenant('reader', (db) => db.query('insert into posts (title) values ($1)', ['x']), { readOnly: true }),
    ).rejects.toMatchObject({ code: '25006' });
    const n = await tenancy.withTenant('reader', async (db) => (await db.query('select count(*)::int as n from posts')).rows[0], {
      readOnly: true,
    });
    expect(n).toEqual({ n: 0 });
    // The next unit on the same connection is writable again.
    await tenancy.withTenant('reader', (db) => db.query('insert into posts (title) values ($1)', ['y']));
  });

  it('bind parameters stay parameters: hostile values are data, never SQL', async () => {
    const tenancy = await h.tenancy();
    const a = await tenancy.tenants.create({ slug: 'param-a', name: 'A' });
    await tenancy.tenants.create({ slug: 'param-b', name: 'B' });
    const evil = `x'); drop table posts; set search_path to "${a.physicalName}"; --`;
    await tenancy.withTenant('param-b', (db) => db.query('insert into posts (title) values ($1)', [evil]));
    const rows = await tenancy.withTenant('param-b', async (db) => (await db.query<{ title: string }>('select title from posts')).rows);
    expect(rows).toEqual([{ title: evil }]);
    const other = await tenancy.withTenant('param-a', async (db) => (await db.query('select * from posts')).rows);
    expect(other).toEqual([]);
  });
});
