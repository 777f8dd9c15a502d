import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HOSTILE_STRINGS, describeHostile } from '@tenantry/testing';
import { setupHarness, codeOf } from './helpers.js';
import type { Tenancy } from '../src/index.js';

const h = await setupHarness();
// Databases and roles are the server's, shared by every test file: names get this file's suffix.
const sfx = randomBytes(3).toString('hex');
const n = (base: string): string => `${base}_${sfx}`;

async function schemaExists(name: string): Promise<boolean> {
  return (await h.admin.query('select 1 from pg_namespace where nspname = $1', [name])).rowCount === 1;
}
async function databaseExists(name: string): Promise<boolean> {
  return (await h.admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
}
async function roleExists(name: string): Promise<boolean> {
  return (await h.admin.query('select 1 from pg_roles where rolname = $1', [name])).rowCount === 1;
}

/** A real write and read in the tenant, as its role. */
async function usable(tenancy: Tenancy, id: string, title: string): Promise<{ titles: string[]; who: string }> {
  return await tenancy.withTenant(id, async (db) => {
    await db.query('insert into posts (title) values ($1)', [title]);
    const { rows } = await db.query<{ title: string; who: string }>('select title, current_user as who from posts order by id');
    return { titles: rows.map((r) => r.title), who: rows[0]!.who };
  });
}

describe('caller-chosen physical names', () => {
  it('a schema tenant and a database tenant are created under the names asked for, with their roles, and work', async () => {
    const tenancy = await h.tenancy();
    const s = await tenancy.tenants.create({ slug: 'pn-schema', name: 'S', physicalName: n('tenant_acme') });
    expect(s).toMatchObject({ status: 'ACTIVE', physicalName: n('tenant_acme'), role: n('tenant_acme') });
    expect(await schemaExists(n('tenant_acme'))).toBe(true);
    expect(await usable(tenancy, s.id, 'a')).toEqual({ titles: ['a'], who: n('tenant_acme') });

    const d = await tenancy.tenants.create({ slug: 'pn-db', name: 'D', isolation: 'database', physicalName: n('tenant_acmecorp') });
    expect(d).toMatchObject({ status: 'ACTIVE', physicalName: n('tenant_acmecorp'), role: n('tenant_acmecorp') });
    expect(await databaseExists(n('tenant_acmecorp'))).toBe(true);
    expect(await usable(tenancy, d.id, 'b')).toEqual({ titles: ['b'], who: n('tenant_acmecorp') });
    // reconcile() (verify, orphans) finds them under their real names.
    const report = await tenancy.reconcile();
    expect(report.orphans).toEqual([]);
    // Without a name, the generated one.
    const g = await tenancy.tenants.create({ slug: 'pn-generated', name: 'G' });
    expect(g.physicalName).toBe(`t_${g.id.replace(/-/g, '')}`);
  });

  it('every hostile string, a non-string and the reserved names are refused with INVALID_ARGUMENT before anything is made', async () => {
    const tenancy = await h.tenancy();
    const reserved = [
      'public',
      'information_schema',
      'pg_catalog',
      'pg_anything',
      'tenantry',
      'tenantry_tpl_x',
      'shared',
      'postgres',
      'template0',
      'template1',
      `t_${'ab'.repeat(16)}`,
    ];
    // The few hostile strings that are plain identifiers (`__proto__`, `ac_me`, `a`…) are names like
    // any other, quoted wherever they go: one of them is created below.
    const identifiers = HOSTILE_STRINGS.filter((v) => /^[a-z_][a-z0-9_]{0,62}$/.test(v) && !reserved.includes(v) && !v.startsWith('pg_'));
    expect(identifiers.length).toBeLessThan(10);
    const bad: unknown[] = [
      ...HOSTILE_STRINGS.filter((v) => !identifiers.includes(v)),
      ...reserved,
      '',
      'Upper',
      'a'.repeat(64),
      'with-hyphen',
      '1starts_with_digit',
      null,
      42,
      {},
    ];
    for (const name of bad) {
      const what = typeof name === 'string' ? describeHostile(name) : String(name);
      expect(await codeOf(() => tenancy.tenants.create({ slug: 'pn-hostile', name: 'H', physicalName: name as string })), what).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect((await h.admin.query("select 1 from tenantry.tenants where slug = 'pn-hostile'")).rowCount).toBe(0);
    const t = await tenancy.tenants.create({ slug: 'pn-hostile-rename', name: 'H' });
    for (const name of bad) {
      const what = typeof name === 'string' ? describeHostile(name) : String(name);
      expect(await codeOf(() => tenancy.tenants.renamePhysical(t.id, name as string)), what).toBe('INVALID_ARGUMENT');
    }
    expect((await tenancy.tenants.get(t.id)).physicalName).toBe(t.physicalName);
    const proto = await tenancy.tenants.create({ slug: 'pn-proto', name: 'P', physicalName: '__proto__' });
    expect(await usable(tenancy, proto.id, 'p')).toEqual({ titles: ['p'], who: '__proto__' });
    await tenancy.tenants.delete(proto.id);
  });

  it("collisions are refused with TENANT_EXISTS: another tenant's name or role, a pending rename's, an existing schema, database or role", async () => {
    const tenancy = await h.tenancy();
    const a = await tenancy.tenants.create({ slug: 'pn-col-a', name: 'A', physicalName: n('col_a') });
    const create = (physicalName: string, isolation: 'schema' | 'database' = 'schema') =>
      codeOf(() => tenancy.tenants.create({ slug: 'pn-col-b', name: 'B', physicalName, isolation }));
    expect(await create(n('col_a'))).toBe('TENANT_EXISTS');
    // A database tenant cannot take a schema tenant's name either (its role would be the same).
    expect(await create(n('col_a'), 'database')).toBe('TENANT_EXISTS');
    expect(await create(a.physicalName)).toBe('TENANT_EXISTS');
    // Things on the server no tenant owns.
    await h.admin.query(`create schema ${n('foreign_schema')}`);
    expect(await create(n('foreign_schema'))).toBe('TENANT_EXISTS');
    await h.admin.query(`create database ${n('foreign_db')}`);
    expect(await create(n('foreign_db'), 'database')).toBe('TENANT_EXISTS');
    expect(await create(n('foreign_db'))).toBe('TENANT_EXISTS');
    await h.admin.query(`create role ${n('foreign_role')} nologin`);
    expect(await create(n('foreign_role'), 'database')).toBe('TENANT_EXISTS');
    expect(await schemaExists(n('foreign_schema'))).toBe(true);
    expect(await roleExists(n('foreign_role'))).toBe(true);
    // A pending rename holds its target.
    await h.admin.query('update tenantry.tenants set physical_rename_to = $2 where id = $1', [a.id, n('col_pending')]);
    expect(await create(n('col_pending'))).toBe('TENANT_EXISTS');
    await h.admin.query('update tenantry.tenants set physical_rename_to = null where id = $1', [a.id]);
    // Renames collide the same way.
    const b = await tenancy.tenants.create({ slug: 'pn-col-c', name: 'C' });
    expect(await codeOf(() => tenancy.tenants.renamePhysical(b.id, n('col_a')))).toBe('TENANT_EXISTS');
    expect(await codeOf(() => tenancy.tenants.renamePhysical(b.id, n('foreign_schema')))).toBe('TENANT_EXISTS');
    // A SUSPENDED tenant (as a retained copy is) still holds its name; a DELETED one gives it back.
    await tenancy.tenants.suspend(a.id);
    expect(await create(n('col_a'))).toBe('TENANT_EXISTS');
    await tenancy.tenants.delete(a.id);
    const again = await tenancy.tenants.create({ slug: 'pn-col-b', name: 'B', physicalName: n('col_a') });
    expect(again.physicalName).toBe(n('col_a'));
    await h.admin.query(`drop schema ${n('foreign_schema')}`);
    await h.admin.query(`drop role ${n('foreign_role')}`);
    expect(await databaseExists(n('foreign_db'))).toBe(true);
    await h.admin.query(`drop database ${n('foreign_db')}`);
  });

  it('two creates racing for one name: exactly one gets it', async () => {
    const tenancy = await h.tenancy();
    const results = await Promise.allSettled(
      ['pn-race-a', 'pn-race-b', 'pn-race-c'].map((slug) => tenancy.tenants.create({ slug, name: 'R', physicalName: n('race') })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as { code: string }).code).toMatch(/TENANT_EXISTS|PROVISIONING_FAILED/);
    // A failed racer never dropped the winner's schema.
    const winner = results.find((r) => r.status === 'fulfilled')!.value;
    expect(await usable(tenancy, winner.id, 'won')).toMatchObject({ titles: ['won'] });
  });
});

describe('physical rename', () => {
  it('renames a schema tenant and a database tenant with their roles, logged, while other tenants keep working in open units of work', async () => {
    const tenancy = await h.tenancy();
    const s = await tenancy.tenants.create({ slug: 'rn-schema', name: 'S' });
    const d = await tenancy.tenants.create({ slug: 'rn-db', name: 'D', isolation: 'database' });
    const other = await tenancy.tenants.create({ slug: 'rn-other', name: 'O', isolation: 'database' });
    const otherSchema = await tenancy.tenants.create({ slug: 'rn-other-s', name: 'O' });
    await usable(tenancy, s.id, 's1');
    await usable(tenancy, d.id, 'd1');
    // Units of work on other tenants stay open across both renames.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const open = [other, otherSchema].map((t) =>
      tenancy.withTenant(t.id, async (db) => {
        await db.query("insert into posts (title) values ('before')");
        await gate;
        await db.query("insert into posts (title) values ('after')");
        return (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0]!.n;
      }),
    );

    const rs = await tenancy.tenants.renamePhysical('rn-schema', n('renamed_schema'), { actor: 'ops' });
    expect(rs).toMatchObject({
      id: s.id,
      slug: 'rn-schema',
      status: 'ACTIVE',
      physicalName: n('renamed_schema'),
      role: n('renamed_schema'),
    });
    expect(await schemaExists(s.physicalName)).toBe(false);
    expect(await roleExists(s.physicalName)).toBe(false);
    expect(await usable(tenancy, s.id, 's2')).toEqual({ titles: ['s1', 's2'], who: n('renamed_schema') });

    const rd = await tenancy.tenants.renamePhysical(d.id, n('renamed_db'), { actor: 'ops' });
    expect(rd).toMatchObject({ physicalName: n('renamed_db'), role: n('renamed_db'), status: 'ACTIVE' });
    expect(await databaseExists(d.physicalName)).toBe(false);
    expect(await databaseExists(n('renamed_db'))).toBe(true);
    expect(await usable(tenancy, d.id, 'd2')).toEqual({ titles: ['d1', 'd2'], who: n('renamed_db') });

    release();
    expect(await Promise.all(open)).toEqual([2, 2]);
    const log = await tenancy.tenants.activity(d.id);
    expect(log.slice(-2).map((a) => [a.action, a.actor, a.detail])).toEqual([
      ['physical-rename-started', 'ops', { from: d.physicalName, to: n('renamed_db') }],
      ['physical-rename', 'ops', { from: d.physicalName, to: n('renamed_db'), role: true }],
    ]);
    // Renaming to its own name changes nothing; deleting drops it under its new name.
    expect((await tenancy.tenants.renamePhysical(d.id, n('renamed_db'))).updatedAt).toEqual(rd.updatedAt);
    await tenancy.tenants.delete(d.id);
    expect(await databaseExists(n('renamed_db'))).toBe(false);
    expect(await roleExists(n('renamed_db'))).toBe(false);
    expect((await tenancy.reconcile()).orphans).toEqual([]);
  });

  it("a database tenant's connections are drained: this process's idle and open ones, and another process's", async () => {
    const tenancy = await h.tenancy();
    const elsewhere = await h.tenancy();
    const d = await tenancy.tenants.create({ slug: 'rn-drain', name: 'D', isolation: 'database' });
    await usable(tenancy, d.id, 'x');
    await elsewhere.withTenant(d.id, (db) => db.query('select 1')); // an idle pooled connection in another process
    // A unit of work still open in this process past drainMs is terminated.
    const stuck = tenancy.withTenant(d.id, async (db) => {
      await db.query('select pg_sleep(30)');
    });
    const outcome = stuck.then(
      () => 'ok',
      () => 'failed',
    );
    await expect
      .poll(
        async () =>
          (await h.admin.query("select 1 from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'")).rowCount,
      )
      .toBe(1);
    const started = Date.now();
    const renamed = await tenancy.tenants.renamePhysical(d.id, n('drained'), { drainMs: 300 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await outcome).toBe('failed');
    expect(renamed.physicalName).toBe(n('drained'));
    expect(await usable(tenancy, d.id, 'y')).toMatchObject({ titles: ['x', 'y'] });
    // The other process's cache follows the registry's notification; its pool connects anew.
    await expect
      .poll(() => elsewhere.withTenant(d.id, async (db) => (await db.query<{ d: string }>('select current_database() as d')).rows[0]!.d), {
        timeout: 10_000,
      })
      .toBe(n('drained'));
  });

  it('the routing cache sees the new name at once in this process and, through the notification, in another', async () => {
    const mine = await h.tenancy({ cache: { ttlMs: 3_600_000 } });
    const theirs = await h.tenancy({ cache: { ttlMs: 3_600_000 } });
    const t = await mine.tenants.create({ slug: 'rn-cache', name: 'C' });
    const where = (tenancy: Tenancy) =>
      tenancy.withTenant(t.id, async (db) => (await db.query<{ s: string }>('select current_schema() as s')).rows[0]!.s);
    expect(await where(mine)).toBe(t.physicalName);
    expect(await where(theirs)).toBe(t.physicalName);
    await mine.tenants.renamePhysical(t.id, n('cache_renamed'));
    expect(await where(mine)).toBe(n('cache_renamed'));
    await expect.poll(() => where(theirs).catch(() => 'stale'), { timeout: 10_000 }).toBe(n('cache_renamed'));
  });

  it('refuses tenants that are not provisioned or are being deleted, and unknown ones', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'rn-state', name: 'S' });
    await h.admin.query("update tenantry.tenants set status = 'MIGRATING' where id = $1", [t.id]);
    expect(await codeOf(() => tenancy.tenants.renamePhysical(t.id, n('rn_state')))).toBe('INVALID_STATE_TRANSITION');
    await h.admin.query("update tenantry.tenants set status = 'ACTIVE' where id = $1", [t.id]);
    await tenancy.tenants.delete(t.id);
    expect(await codeOf(() => tenancy.tenants.renamePhysical(t.id, n('rn_state')))).toBe('TENANT_NOT_FOUND');
    expect(await codeOf(() => tenancy.tenants.renamePhysical('no-such-tenant', n('rn_state')))).toBe('TENANT_NOT_FOUND');
  });
});
