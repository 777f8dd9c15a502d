import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import type { Tenancy, Tenant } from '../src/index.js';

/**
 * The strict tier: a database tenant whose connections log in as its own role, of which the
 * application's role is not a member. The escape statements that leave a tenant role within one
 * statement (attack-sql.test.ts, "LIMIT") are run in a strict tenant: each is refused, or runs
 * confined to the tenant's own role and database.
 */
const h = await setupHarness();
const KEY = randomBytes(32).toString('hex');

let tenancy: Tenancy;
let s: Tenant;
let e: Tenant;
let a: Tenant;
let app: string;

async function attempt(t: Tenant, sql: string, values?: unknown[]): Promise<{ code: string; rows: Record<string, unknown>[] }> {
  try {
    const r = await tenancy.withTenant(t.id, (db) => db.query(sql, values));
    return { code: 'ok', rows: r.rows };
  } catch (err) {
    return { code: String((err as { code?: unknown }).code ?? (err as Error).message), rows: [] };
  }
}

beforeAll(async () => {
  app = decodeURIComponent(new URL(h.db.url).username);
  tenancy = await h.tenancy({ encryptionKey: KEY, pool: { max: 6 } });
  [s, e, a] = await Promise.all([
    tenancy.tenants.create({ slug: 'strict-s', name: 'Strict', isolation: 'database', strict: true }),
    tenancy.tenants.create({ slug: 'strict-e', name: 'Database tenant', isolation: 'database' }),
    tenancy.tenants.create({ slug: 'strict-a', name: 'Schema tenant' }),
  ]);
  for (const t of [s, e, a])
    await tenancy.withTenant(t.id, (db) => db.query('insert into posts (title, owner) values ($1, $2)', [`${t.slug}-secret`, t.slug]));
});

describe('strict tenants', () => {
  it('are database tenants only, and need the encryption key', async () => {
    await expect(tenancy.tenants.create({ slug: 'strict-schema', name: 'X', strict: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const keyless = await h.tenancy({ encryptionKey: undefined });
    await expect(keyless.tenants.create({ slug: 'strict-keyless', name: 'X', isolation: 'database', strict: true })).rejects.toMatchObject({
      code: 'ENCRYPTION_KEY_REQUIRED',
    });
  });

  it('log in as their own role, which the application role may not become; the password is stored encrypted', async () => {
    expect(s.strict).toBe(true);
    expect(e.strict).toBe(false);
    const { rows } = await tenancy.withTenant(s.id, (db) =>
      db.query<{ session: string; current: string; titles: string[] }>(
        'select session_user as session, current_user as current, array(select title from posts) as titles',
      ),
    );
    expect(rows[0]).toEqual({ session: s.role, current: s.role, titles: ['strict-s-secret'] });
    const { rows: roles } = await h.admin.query<{ login: boolean; set: boolean; usage: boolean; superuser: boolean }>(
      `select r.rolcanlogin as login, pg_has_role($2, r.oid, 'SET') as set, pg_has_role($2, r.oid, 'USAGE') as usage, r.rolsuper as superuser
         from pg_roles r where r.rolname = $1`,
      [s.role, app],
    );
    expect(roles[0]).toEqual({ login: true, set: false, usage: false, superuser: false });
    const { rows: stored } = await h.admin.query<{ secret: string | null }>(
      'select login_secret as secret from tenantry.tenants where id = $1',
      [s.id],
    );
    expect(stored[0]!.secret).toMatch(/^v1:[0-9a-f]{8}:/);
    const { rows: others } = await h.admin.query<{ n: number }>(
      'select count(*)::int as n from tenantry.tenants where login_secret is not null and id <> $1',
      [s.id],
    );
    expect(others[0]!.n).toBe(0);
  });

  it('the escape corpus: every statement is refused, or runs as the strict role inside its own database', async () => {
    const corpus: string[] = [
      // Leaving the role within one statement (the LIMIT of non-strict tenants).
      `select set_config('role', 'none', true) as r, query_to_xml('select current_user as u', false, false, '') as x`,
      `select set_config('role', '${app}', true) as r, query_to_xml('select current_user as u', false, false, '') as x`,
      `select set_config('role', '${e.role}', true) as r, query_to_xml('select current_user as u', false, false, '') as x`,
      `do $$ begin perform set_config('role', 'none', true); execute 'copy (select 1) to program ''true'''; end $$`,
      `do $$ begin perform set_config('role', '${app}', true); end $$`,
      `do $$ begin execute 'set role ${app}'; end $$`,
      `set role "${app}"`,
      `set role "${e.role}"`,
      `set session authorization "${app}"`,
      `select set_config('role', '${a.role}', false)`,
      // Other tenants, the registry, other databases.
      `select * from "${a.physicalName}".posts`,
      'select * from tenantry.tenants',
      `select * from "${e.physicalName}".public.posts`,
      "select dblink('dbname=postgres', 'select 1')",
      'create extension dblink',
      // The server and roles.
      "select pg_read_file('PG_VERSION')",
      "select lo_import('/etc/hostname')",
      "copy (select 1) to '/tmp/tenantry-strict'",
      'alter system set work_mem = 64',
      `grant "${e.role}" to current_user`,
      `grant "${app}" to current_user`,
      'alter role current_user superuser',
      'alter role current_user createrole',
      `alter role "${app}" password 'x'`,
      'create role evil login',
      'select * from pg_authid',
    ];
    const results = [];
    for (const sql of corpus) results.push({ sql, ...(await attempt(s, sql)) });
    // What ran, ran as the strict role: a query_to_xml that reports the user must name it.
    const escaped = results.filter((r) => r.code === 'ok' && JSON.stringify(r.rows).match(/<u>(?!t_)/) !== null);
    expect(escaped.map((r) => r.sql)).toEqual([]);
    const confined = results.filter((r) => r.code === 'ok').map((r) => r.sql);
    expect(confined).toEqual([corpus[0]]);
    expect(String(results[0]!.rows[0]!['x'])).toContain(`<u>${s.role}</u>`);
    for (const r of results.filter((x) => x.code !== 'ok'))
      expect(['42501', '42P01', '0A000', '3F000', '42883', '25001', '42704']).toContain(r.code);

    // Functions that switch role in their definition: the session user is the strict role.
    await tenancy.withTenant(s.id, async (db) => {
      await db.query("create function whoami_clause() returns text language sql set role = none as 'select current_user::text'");
      await db.query("create function whoami_body() returns text language sql as 'set role none; select current_user::text'");
    });
    expect((await attempt(s, 'select whoami_clause() as u')).rows).toEqual([{ u: s.role }]);
    expect((await attempt(s, 'select whoami_body() as u')).rows).toEqual([{ u: s.role }]);
    const clauseApp = await attempt(s, `create function as_app() returns text language sql set role = '${app}' as 'select 1::text'`);
    if (clauseApp.code === 'ok') expect((await attempt(s, 'select as_app()')).code).toBe('42501');
    else expect(clauseApp.code).toBe('42501');
  });

  it('their pools live under the server budget beside the per-database pools', async () => {
    const budgeted = await h.tenancy({
      encryptionKey: KEY,
      pool: { max: 2, databasePoolMax: 2, connectTimeoutMillis: 30_000 },
      applicationName: 'strict-budget',
    });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => budgeted.withTenant(i % 2 === 0 ? s.id : e.id, (db) => db.query('select pg_sleep(0.02)'))),
    );
    const { rows } = await h.admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where application_name = 'strict-budget'",
    );
    expect(rows[0]!.n).toBeLessThanOrEqual(2);
    const stats = budgeted.stats().servers.find((x) => x.server === 'default')!;
    expect(stats.max).toBe(2);
    expect(stats.total).toBeLessThanOrEqual(2);
  });

  it('rotating the encryption key re-encrypts their passwords; new connections still log in', async () => {
    const next = randomBytes(32).toString('hex');
    const stored = async () =>
      (await h.admin.query<{ secret: string }>('select login_secret as secret from tenantry.tenants where id = $1', [s.id])).rows[0]!
        .secret;
    const before = await stored();
    const rotating = await h.tenancy({ encryptionKey: KEY });
    await rotating.rotateEncryptionKey(next);
    const after = await stored();
    expect(after.split(':')[1]).not.toBe(before.split(':')[1]);
    const rotated = await h.tenancy({ encryptionKey: next });
    const { rows: who } = await rotated.withTenant(s.id, (db) => db.query<{ u: string }>('select session_user as u'));
    expect(who[0]!.u).toBe(s.role);
    await rotated.rotateEncryptionKey(KEY);
  });

  it('are deleted with their role and database, also with a session of theirs open', async () => {
    const t = await tenancy.tenants.create({ slug: 'strict-gone', name: 'Gone', isolation: 'database', strict: true });
    await tenancy.withTenant(t.id, (db) => db.query('select 1'));
    const deleted = await tenancy.tenants.delete(t.id);
    expect(deleted.status).toBe('DELETED');
    const { rows } = await h.admin.query<{ n: number }>(
      'select (select count(*) from pg_roles where rolname = $1)::int + (select count(*) from pg_database where datname = $2)::int as n',
      [t.role, t.physicalName],
    );
    expect(rows[0]!.n).toBe(0);
  });
});
