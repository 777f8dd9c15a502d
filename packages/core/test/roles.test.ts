import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { migrationList } from '../src/index.js';

const h = await setupHarness();

const roleExists = async (role: string) => (await h.admin.query('select 1 from pg_roles where rolname = $1', [role])).rowCount === 1;

describe('per-tenant roles', () => {
  it("inside tenant A's unit of work, raw SQL naming tenant B's tables or the registry fails with a permission error", async () => {
    const tenancy = await h.tenancy();
    const a = await tenancy.tenants.create({ slug: 'role-a', name: 'A' });
    const b = await tenancy.tenants.create({ slug: 'role-b', name: 'B' });
    expect(a.role).toBe(a.physicalName);
    expect(await roleExists(a.role!)).toBe(true);
    await tenancy.withTenant(b.id, (db) => db.query("insert into posts (title) values ('b-secret')"));
    const attacks = [
      `select * from "${b.physicalName}".posts`,
      `insert into "${b.physicalName}".posts (title) values ('planted')`,
      `update "${b.physicalName}".posts set title = 'defaced'`,
      `select * from "${b.physicalName}"._tenantry_migrations`,
      'select * from tenantry.tenants',
      'select * from tenantry.servers',
      "update tenantry.tenants set status = 'ACTIVE'",
      `create table "${b.physicalName}".evil (x int)`,
      `drop schema "${b.physicalName}" cascade`,
      `alter schema "${b.physicalName}" owner to current_user`,
    ];
    for (const sql of attacks) {
      await expect(
        tenancy.withTenant(a.id, (db) => db.query(sql)),
        sql,
      ).rejects.toMatchObject({ code: expect.stringMatching(/^(42501|42P01)$/) });
    }
    // A search_path or role switched inside A's transaction lasts one statement: the next one
    // carries A again, so it reads A's (empty) posts, not B's.
    const switched = await tenancy.withTenant(a.id, (db) =>
      db.transaction(async (tx) => {
        await tx.query(`select set_config('search_path', $1, true)`, [`"${b.physicalName}"`]);
        await tx.query('reset role');
        return (await tx.query('select * from posts')).rows;
      }),
    );
    expect(switched).toEqual([]);
    const who = await tenancy.withTenant(a.id, async (db) => (await db.query<{ u: string }>('select current_user as u')).rows[0]!.u);
    expect(who).toBe(a.role);
    expect((await tenancy.withTenant(b.id, (db) => db.query<{ title: string }>('select title from posts'))).rows).toEqual([
      { title: 'b-secret' },
    ]);
  });

  it('migrations run as the tenant role, which owns what they create; database tenants get access to theirs', async () => {
    const v1 = [{ name: '0001_posts', up: 'create table posts (id serial primary key, title text not null)' }];
    const v2 = [...v1, { name: '0002_tags', up: 'create table tags (id serial primary key, name text)' }];
    const first = await h.tenancy({ migrations: migrationList(v1) });
    const s = await first.tenants.create({ slug: 'own-s', name: 'S' });
    const d = await first.tenants.create({ slug: 'own-d', name: 'D', isolation: 'database' });
    const second = await h.tenancy({ migrations: migrationList(v2) });
    const run = await second.migrate({ tenants: [s.id, d.id] });
    expect(run.ok).toBe(true);
    const owners = await h.admin.query<{ tablename: string; tableowner: string }>(
      'select tablename, tableowner from pg_tables where schemaname = $1 order by 1',
      [s.physicalName],
    );
    expect(owners.rows).toEqual([
      { tablename: '_tenantry_migrations', tableowner: s.role },
      { tablename: 'posts', tableowner: s.role },
      { tablename: 'tags', tableowner: s.role },
    ]);
    for (const t of [s, d]) {
      await second.withTenant(t.id, async (db) => {
        await db.query("insert into tags (name) values ('x')");
        expect((await db.query<{ u: string }>('select current_user as u')).rows[0]!.u).toBe(t.role);
      });
    }
    // Deleting the tenant drops its role.
    await second.tenants.delete(s.id);
    await second.tenants.delete(d.id);
    expect(await roleExists(s.role!)).toBe(false);
    expect(await roleExists(d.role!)).toBe(false);
  });

  it('tenants created without roles get one from reconcile(), keeping their data', async () => {
    const legacy = await h.tenancy({ tenantRoles: false });
    const t = await legacy.tenants.create({ slug: 'legacy', name: 'Legacy' });
    const dbt = await legacy.tenants.create({ slug: 'legacy-db', name: 'Legacy DB', isolation: 'database' });
    expect(t.role).toBeNull();
    await legacy.withTenant(t.id, (db) => db.query("insert into posts (title) values ('old')"));
    await legacy.withTenant(dbt.id, (db) => db.query("insert into posts (title) values ('old db')"));
    const upgraded = await h.tenancy({ reconcileOnStart: false });
    const report = await upgraded.reconcile();
    expect(report.rolesAssigned.map((x) => x.slug)).toEqual(expect.arrayContaining(['legacy', 'legacy-db']));
    const now = await upgraded.tenants.get(t.id);
    expect(now.role).toBe(t.physicalName);
    await upgraded.withTenant(t.id, async (db) => {
      expect((await db.query<{ u: string }>('select current_user as u')).rows[0]!.u).toBe(now.role);
      await db.query("insert into posts (title) values ('new')");
      expect((await db.query<{ title: string }>('select title from posts order by id')).rows.map((r) => r.title)).toEqual(['old', 'new']);
    });
    await upgraded.withTenant(dbt.id, async (db) => {
      await db.query("insert into posts (title) values ('new db')");
      expect((await db.query('select count(*)::int as n from posts')).rows[0]).toEqual({ n: 2 });
    });
  });
});
