import { beforeAll, describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import type { Tenancy, Tenant } from '../src/index.js';

/**
 * Raw SQL run inside tenant A's unit of work, trying to reach tenant B (schema tenants), tenant
 * E (database tenants), the registry, the server's files and other sessions. Per-tenant roles
 * are on (the default), so every statement runs as A's NOLOGIN role.
 *
 * The last two blocks are honest about what roles do NOT stop (see docs/security.md): they
 * assert today's behaviour under names that say what it is.
 */
const h = await setupHarness();

let tenancy: Tenancy;
let a: Tenant;
let b: Tenant;
let d: Tenant;
let e: Tenant;
/** The login role Tenantry runs as: the harness's application role, not a superuser. */
let login: string;

/** SQLSTATE of a statement run in `t`'s unit of work, or 'ok' with the rows. */
async function attempt(t: Tenant, sql: string, values?: unknown[]): Promise<{ code: string; rows: Record<string, unknown>[] }> {
  try {
    const r = await tenancy.withTenant(t.id, (db) => db.query(sql, values));
    return { code: 'ok', rows: r.rows };
  } catch (err) {
    return { code: String((err as { code?: unknown }).code ?? (err as Error).message), rows: [] };
  }
}

async function expectRefused(t: Tenant, statements: readonly string[], codes: readonly string[] = ['42501']): Promise<void> {
  const results = await Promise.all(statements.map(async (sql) => ({ sql, ...(await attempt(t, sql)) })));
  const through = results.filter((r) => !codes.includes(r.code));
  expect(
    through.map((r) => `${r.code}: ${r.sql}`),
    'statements that were not refused',
  ).toEqual([]);
}

async function ownTitles(t: Tenant): Promise<string[]> {
  return await tenancy.withTenant(t.id, async (db) =>
    (await db.query<{ title: string }>('select title from posts order by id')).rows.map((r) => r.title),
  );
}

beforeAll(async () => {
  login = decodeURIComponent(new URL(h.db.url).username);
  tenancy = await h.tenancy({ pool: { max: 4 } });
  [a, b, d, e] = await Promise.all([
    tenancy.tenants.create({ slug: 'atk-a', name: 'A' }),
    tenancy.tenants.create({ slug: 'atk-b', name: 'B' }),
    tenancy.tenants.create({ slug: 'atk-d', name: 'D', isolation: 'database' }),
    tenancy.tenants.create({ slug: 'atk-e', name: 'E', isolation: 'database' }),
  ]);
  for (const t of [a, b, d, e]) {
    expect(t.role).toBe(t.physicalName);
    await tenancy.withTenant(t.id, (db) => db.query('insert into posts (title, owner) values ($1, $2)', [`${t.slug}-secret`, t.slug]));
  }
});

describe("raw SQL in tenant A's unit of work", () => {
  it("cannot read, write, alter or grant on tenant B's tables, sequences and schema", async () => {
    const B = `"${b.physicalName}"`;
    await expectRefused(a, [
      `select * from ${B}.posts`,
      `select count(*) from ${B}.posts`,
      `select * from ${B}._tenantry_migrations`,
      `insert into ${B}.posts (title) values ('planted')`,
      `update ${B}.posts set title = 'defaced'`,
      `delete from ${B}.posts`,
      `truncate ${B}.posts`,
      `lock table ${B}.posts in access exclusive mode`,
      `select nextval('${B}.posts_id_seq')`,
      `select setval('${B}.posts_id_seq', 1)`,
      `select * from ${B}.posts_id_seq`,
      `copy ${B}.posts to stdout`,
      `create table ${B}.evil (x int)`,
      `create view ${B}.evil as select 1`,
      `create index on ${B}.posts (title)`,
      `alter table ${B}.posts add column x int`,
      `alter table ${B}.posts owner to current_user`,
      `comment on table ${B}.posts is 'pwned'`,
      `reindex table ${B}.posts`,
      `create trigger evil before insert on ${B}.posts for each row execute function suppress_redundant_updates_trigger()`,
      `create policy evil on ${B}.posts using (true)`,
      `drop table ${B}.posts`,
      `drop schema ${B} cascade`,
      `alter schema ${B} rename to stolen`,
      `alter schema ${B} owner to current_user`,
      `grant usage on schema ${B} to public`,
      `grant select on ${B}.posts to current_user`,
      `alter default privileges for role "${b.role}" grant select on tables to "${a.role}"`,
      `create function ${B}.steal() returns setof text language sql security definer as 'select title from ${B}.posts'`,
      `create table public.planted (x int)`,
      `create function public.lower(text) returns text language sql as 'select $1'`,
    ]);
    // B is intact.
    expect(await ownTitles(b)).toEqual(['atk-b-secret']);
  });

  it('cannot read or change the registry, or create and alter roles', async () => {
    const { rows } = await h.admin.query<{ t: string }>(
      "select format('%I.%I', schemaname, tablename) as t from pg_tables where schemaname = 'tenantry' order by 1",
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    await expectRefused(a, [
      ...rows.map((r) => `select * from ${r.t}`),
      "update tenantry.tenants set status = 'ACTIVE'",
      'delete from tenantry.activity',
      `insert into tenantry.tenant_domains (domain, tenant_id) values ('evil.example', '${b.id}')`,
      'create role evil',
      `alter role "${b.role}" login password 'pwned'`,
      `alter role "${a.role}" login`,
      `alter role "${a.role}" superuser`,
      `alter role "${login}" password null`,
      `grant "${b.role}" to "${a.role}"`,
      `drop role "${b.role}"`,
      'select rolpassword from pg_authid',
      'select * from pg_shadow',
      'select * from pg_hba_file_rules',
      'select * from pg_file_settings',
      "select current_setting('data_directory')",
      "select current_setting('hba_file')",
    ]);
  });

  it('cannot reach the server: files, programs, settings, extensions, languages, replication', async () => {
    await expectRefused(
      a,
      [
        "select pg_read_file('/etc/passwd')",
        "select pg_read_file('PG_VERSION')",
        "select pg_read_binary_file('PG_VERSION')",
        "select pg_ls_dir('.')",
        "select pg_stat_file('PG_VERSION')",
        'select pg_ls_logdir()',
        'select pg_ls_waldir()',
        'select pg_current_logfile()',
        "copy (select 1) to program 'id'",
        "copy posts (title) from program 'echo pwned'",
        "copy posts to '/tmp/tenantry-attack-out'",
        "copy posts (title) from '/etc/hostname'",
        "select lo_import('/etc/passwd')",
        "select lo_export(0, '/tmp/tenantry-attack-lo')",
        "alter system set log_statement = 'none'",
        'select pg_reload_conf()',
        'select pg_rotate_logfile()',
        'select pg_switch_wal()',
        "select pg_create_restore_point('x')",
        'checkpoint',
        "load 'auto_explain'",
        'create extension dblink',
        'create extension file_fdw',
        'create extension plperlu',
        'create language plperlu',
        'create event trigger evil on ddl_command_start execute function pg_catalog.pg_event_trigger_ddl_commands()',
        "set session_replication_role = 'replica'",
        "select set_config('session_replication_role', 'replica', true)",
        "set log_statement = 'none'",
        "select pg_create_logical_replication_slot('evil', 'pgoutput')",
        'create publication evil for all tables',
        "create subscription evil connection 'dbname=postgres' publication p",
        'create server evil foreign data wrapper postgres_fdw',
      ],
      // 25001: cannot run inside a transaction block — refused either way; 58P01: not available.
      ['42501', '25001', '58P01', '42704'],
    );
  });

  it("cannot read, write or unlink tenant B's large objects", async () => {
    const { rows } = await tenancy.withTenant(b.id, (db) => db.query<{ oid: number }>("select lo_from_bytea(0, 'b large secret') as oid"));
    const oid = rows[0]!.oid;
    try {
      await expectRefused(a, [
        `select lo_get(${oid})`,
        `select lo_put(${oid}, 0, 'x')`,
        `select lo_unlink(${oid})`,
        `select lo_open(${oid}, 262144)`,
        `grant select on large object ${oid} to public`,
        `alter large object ${oid} owner to current_user`,
      ]);
    } finally {
      await tenancy.withTenant(b.id, (db) => db.query('select lo_unlink($1)', [oid]));
    }
  });

  it("cannot terminate or cancel tenant B's backend, nor see its statements", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let pidOf!: (pid: number) => void;
    const pidKnown = new Promise<number>((r) => (pidOf = r));
    const bWork = tenancy.withTenant(b.id, async (db) => {
      pidOf((await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
      await held;
      return (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0]!.n;
    });
    const pid = await pidKnown;
    try {
      const kill = await attempt(a, 'select pg_terminate_backend($1)', [pid]);
      const cancel = await attempt(a, 'select pg_cancel_backend($1)', [pid]);
      expect([kill.code, cancel.code]).toEqual(['42501', '42501']);
      const seen = await attempt(a, 'select query, usename from pg_stat_activity where pid = $1', [pid]);
      expect(seen.rows).toEqual([{ query: '<insufficient privilege>', usename: login }]);
      // Every other backend of the server is hidden the same way.
      const all = await attempt(
        a,
        "select count(*)::int as n from pg_stat_activity where query <> '<insufficient privilege>' and pid <> pg_backend_pid() and backend_type = 'client backend'",
      );
      expect(all.rows).toEqual([{ n: 0 }]);
    } finally {
      release();
    }
    expect(await bWork).toBe(1);
  });

  it('database tenants: cross-database references fail, dblink is not there, CONNECT is revoked', async () => {
    const E = `"${e.physicalName}"`;
    await expectRefused(
      d,
      [`select * from ${E}.public.posts`, `insert into ${E}.public.posts (title) values ('x')`, `select * from "${a.physicalName}".posts`],
      ['0A000', '3F000', '42P01'],
    );
    await expectRefused(a, [`select * from "${d.physicalName}".public.posts`], ['0A000']);
    // Inside its own database the tenant does not see the registry at all.
    await expectRefused(d, ['select * from tenantry.tenants'], ['42P01', '3F000']);
    await expectRefused(
      d,
      ["select dblink('dbname=postgres', 'select 1')", "select * from dblink_connect('x', 'dbname=postgres')"],
      ['42883'],
    );
    await expectRefused(d, ['create extension dblink', 'create extension postgres_fdw'], ['42501']);
    // Were a tenant role able to log in, it could not connect to another tenant's database.
    const connect = async (role: string, database: string) =>
      (await h.admin.query<{ ok: boolean }>("select has_database_privilege($1, $2, 'CONNECT') as ok", [role, database])).rows[0]!.ok;
    expect(await connect(d.role!, e.physicalName)).toBe(false);
    expect(await connect(a.role!, e.physicalName)).toBe(false);
    expect(await connect(e.role!, e.physicalName)).toBe(true);
    expect(await connect('public', e.physicalName)).toBe(false);
    expect(await ownTitles(e)).toEqual(['atk-e-secret']);
  });

  it('SECURITY DEFINER: none can be planted in B; one in A runs as A and is refused B too', async () => {
    await expectRefused(a, [`create function "${b.physicalName}".f() returns int language sql security definer as 'select 1'`]);
    // (Function bodies are checked at creation; turn that off to plant the function at all.)
    await tenancy.withTenant(a.id, (db) =>
      db.transaction(async (tx) => {
        await tx.query('set local check_function_bodies = off');
        await tx.query(
          `create function peek() returns bigint language sql security definer as 'select count(*) from "${b.physicalName}".posts'`,
        );
      }),
    );
    const call = await attempt(a, 'select peek()');
    expect(call.code).toBe('42501');
    // B cannot even see A's function (no USAGE on A's schema).
    expect((await attempt(b, `select "${a.physicalName}".peek()`)).code).toBe('42501');
    await tenancy.withTenant(a.id, (db) => db.query('drop function peek()'));
  });

  it('a temporary table named like a tenant table never shadows it', async () => {
    const titles = await tenancy.withTenant(a.id, async (db) => {
      await db.query('create temp table posts (id int, title text)');
      await db.query("insert into pg_temp.posts values (1, 'shadow')");
      return (await db.query<{ title: string }>('select title from posts')).rows.map((r) => r.title);
    });
    expect(titles).toEqual(['atk-a-secret']);
  });

  it('SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION and search_path switches last one statement at most', async () => {
    const switches = [
      'set role none',
      'reset role',
      `set role "${b.role}"`,
      `set session authorization "${login}"`,
      'set local role none',
      "select set_config('role', 'none', false)",
      `select set_config('role', '${b.role}', true)`,
      `select set_config('search_path', '"${b.physicalName}"', false)`,
      `set search_path to "${b.physicalName}", tenantry`,
      'reset all',
      'discard all',
    ];
    for (const sw of switches) {
      // In a transaction and in autocommit: the next statement carries A again.
      const inTx = await tenancy
        .withTenant(a.id, (db) =>
          db.transaction(async (tx) => {
            await tx.query(sw);
            const who = (await tx.query<{ u: string }>('select current_user as u')).rows[0]!.u;
            const titles = (await tx.query<{ title: string }>('select title from posts')).rows.map((r) => r.title);
            const registry = await tx
              .transaction((sp) => sp.query('select count(*) from tenantry.tenants'))
              .then(
                () => 'readable',
                (err: { code?: string }) => err.code,
              );
            const other = await tx
              .transaction((sp) => sp.query(`select count(*) from "${b.physicalName}".posts`))
              .then(
                () => 'readable',
                (err: { code?: string }) => err.code,
              );
            return { who, titles, registry, other };
          }),
        )
        .catch((err: { code?: string }) => ({ refused: err.code }));
      if ('refused' in inTx) {
        // `discard all` cannot run in a transaction (25001).
        expect(inTx.refused, sw).toBe('25001');
      } else {
        expect(inTx, sw).toEqual({ who: a.role, titles: ['atk-a-secret'], registry: '42501', other: '42501' });
      }
      const auto = await tenancy.withTenant(a.id, async (db) => {
        // Refused (25001) is fine too: `discard all` cannot share the routing batch's transaction.
        const refused = await db.query(sw).then(
          () => undefined,
          (err: { code?: string }) => err.code,
        );
        const who = (await db.query<{ u: string }>('select current_user as u')).rows[0]!.u;
        const titles = (await db.query<{ title: string }>('select title from posts')).rows.map((r) => r.title);
        const registry = await db.query('select count(*) from tenantry.tenants').then(
          () => 'readable',
          (err: { code?: string }) => err.code,
        );
        return { refused: refused === '25001' ? undefined : refused, who, titles, registry };
      });
      expect(auto, sw).toEqual({ refused: undefined, who: a.role, titles: ['atk-a-secret'], registry: '42501' });
    }
    // In one statement, the permission check runs before the switch is evaluated.
    await expectRefused(a, [
      `select set_config('role', '${b.role}', true) as r, (select count(*) from "${b.physicalName}".posts) as n`,
      `select set_config('role', 'none', true) as r, (select count(*) from tenantry.tenants) as n`,
      `with sw as (select set_config('role', 'none', true)) select * from sw, tenantry.servers`,
      `select (select count(*) from "${b.physicalName}".posts), set_config('role', 'none', true)`,
    ]);
    // Nothing of it reached the pool: the next plain connection is the application's.
    const { rows } = await tenancy
      .adminPool()
      .query<{ u: string; s: string; p: string }>("select current_user as u, session_user as s, current_setting('search_path') as p");
    expect(rows[0]).toEqual({ u: login, s: login, p: '"$user", public' });
  });
});

describe('LIMITS of per-tenant roles (docs/security.md — what they do NOT stop)', () => {
  it('LIMIT: a tenant that can send arbitrary SQL escapes its role inside ONE statement — set_config(role) + dynamic SQL, DO blocks, functions with SET role', async () => {
    // The application's login role is a member of every tenant role (that is how each
    // statement switches to one), and SET ROLE checks the SESSION user's memberships. So a
    // statement that switches role first and then runs SQL built at run time (query_to_xml,
    // PL/pgSQL, an SQL function) runs that SQL as another tenant — or, with 'none', as the
    // login role itself (the application role: the registry and every tenant, no superuser power). The permission checks of a plain statement happen
    // before it runs, which is why the one-statement attempts above fail and these do not.
    const readB = await attempt(
      a,
      `select set_config('role', $1, true) as r, query_to_xml('select title from "${b.physicalName}".posts', false, false, '') as x`,
      [b.role],
    );
    expect(readB.code).toBe('ok');
    expect(String(readB.rows[0]!['x'])).toContain('atk-b-secret');

    const asLogin = await attempt(
      a,
      "select set_config('role', 'none', true) as r, query_to_xml('select current_user as u, (select count(*) from tenantry.servers) as servers', false, false, '') as x",
    );
    expect(asLogin.code).toBe('ok');
    expect(String(asLogin.rows[0]!['x'])).toMatch(new RegExp(`<u>${login}</u>[\\s\\S]*<servers>\\d+`));

    // PL/pgSQL: copy B's rows into A's own table.
    const copied = await attempt(
      a,
      `do $$ begin perform set_config('role', 'none', true); insert into posts (title) select title from "${b.physicalName}".posts; end $$`,
    );
    expect(copied.code).toBe('ok');
    expect(await ownTitles(a)).toContain('atk-b-secret');
    await tenancy.withTenant(a.id, (db) => db.query("delete from posts where title = 'atk-b-secret'"));
    // The login role is not a superuser (the default since the least-privilege change): the
    // server's files and programs stay out of reach. They were reached when it was one.
    const program = await attempt(
      a,
      "do $$ begin perform set_config('role', 'none', true); execute 'copy (select 1) to program ''true'''; end $$",
    );
    expect(program.code).toBe('42501');
    const file = await attempt(
      a,
      "select set_config('role', 'none', true), query_to_xml('select pg_read_file(''PG_VERSION'')', false, false, '')",
    );
    expect(file.code).toBe('42501');

    // An SQL function (no procedural language needed) with a SET clause or a SET in its body.
    await tenancy.withTenant(a.id, async (db) => {
      await db.query("create function whoami_clause() returns text language sql set role = none as 'select current_user::text'");
      await db.query("create function whoami_body() returns text language sql as 'set role none; select current_user::text'");
    });
    expect((await attempt(a, 'select whoami_clause() as u')).rows).toEqual([{ u: login }]);
    expect((await attempt(a, 'select whoami_body() as u')).rows).toEqual([{ u: login }]);
    await tenancy.withTenant(a.id, async (db) => {
      await db.query('drop function if exists whoami_clause()');
      await db.query('drop function if exists whoami_body()');
    });
  });

  it('LIMIT: tenants can list the names of other tenants’ schemas, roles and databases (not their data)', async () => {
    const seen = await attempt(
      a,
      'select (select count(*)::int from pg_namespace where nspname = $1) as schema, (select count(*)::int from pg_roles where rolname = $2) as role, (select count(*)::int from pg_database where datname = $3) as database',
      [b.physicalName, b.role, e.physicalName],
    );
    expect(seen.rows).toEqual([{ schema: 1, role: 1, database: 1 }]);
  });
});

describe('bugs this suite found, fixed', () => {
  it('deleting a tenant whose role owns a large object succeeds', async () => {
    const t = await tenancy.tenants.create({ slug: 'atk-lo-owner', name: 'LO owner' });
    await tenancy.withTenant(t.id, (db) => db.query("select lo_from_bytea(0, 'mine')"));
    const deleted = await tenancy.tenants.delete(t.id);
    expect(deleted.status).toBe('DELETED');
  });

  it("tenant A cannot block tenant B's deletion by granting B's role a privilege", async () => {
    const victim = await tenancy.tenants.create({ slug: 'atk-victim', name: 'Victim' });
    await tenancy.withTenant(a.id, (db) => db.query(`grant usage on schema "${a.physicalName}" to "${victim.role}"`));
    const deleted = await tenancy.tenants.delete(victim.id);
    expect(deleted.status).toBe('DELETED');
  });

  it('a session-level advisory lock taken by tenant SQL does not survive the unit of work', async () => {
    const solo = await h.tenancy({ pool: { max: 1 }, applicationName: 'tenantry-lock-leak', reconcileOnStart: false });
    const t = await solo.tenants.create({ slug: 'atk-locker', name: 'Locker' });
    try {
      // Advisory locks are per database, not per tenant: this could be another tenant's
      // lifecycle or migration lock key, held from the pool for as long as the connection lives.
      await solo.withTenant(t.id, (db) => db.query("select pg_advisory_lock(hashtextextended('tenantry.lifecycle:' || $1, 0))", [b.id]));
      // Nothing else uses the connection: the release goes on its own once it has been idle for
      // ADVISORY_RELEASE_IDLE_MS (a busy connection's next batch would carry it instead).
      await expect
        .poll(
          async () =>
            (
              await h.admin.query<{ n: number }>(
                "select count(*)::int as n from pg_locks l join pg_stat_activity s using (pid) where l.locktype = 'advisory' and s.application_name = 'tenantry-lock-leak'",
              )
            ).rows[0]!.n,
          { timeout: 2_000, interval: 20 },
        )
        .toBe(0);
    } finally {
      await solo.close();
    }
  });

  it('a session-level advisory lock taken where no keyword shows (inside a function) ends with the unit of work, even for the same tenant', async () => {
    const solo = await h.tenancy({ pool: { max: 1 }, applicationName: 'tenantry-lock-fn', reconcileOnStart: false });
    const t = await solo.tenants.create({ slug: 'atk-fn-locker', name: 'Function locker' });
    const held = async () =>
      (
        await h.admin.query<{ n: number }>(
          "select count(*)::int as n from pg_locks l join pg_stat_activity s using (pid) where l.locktype = 'advisory' and s.application_name = 'tenantry-lock-fn'",
        )
      ).rows[0]!.n;
    try {
      await solo.withTenant(t.id, (db) =>
        db.query('create function take_it() returns void language plpgsql as $$ begin perform pg_advisory_lock(4243); end $$'),
      );
      // The next unit of work on the connection, started at once: its first batch carries the
      // release in front of its own statements, so it never runs with the lock held.
      const during = await Promise.all([
        solo.withTenant(t.id, (db) => db.query('select take_it()')),
        solo.withTenant(t.id, (db) =>
          db.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"),
        ),
      ]);
      expect(during[1].rows[0]!.n).toBe(0);
      await solo.withTenant(t.id, (db) => db.query('select take_it()'));
      await expect.poll(held, { timeout: 2_000, interval: 20 }).toBe(0);
      // The same tenant's next unit of work does not find it held either.
      const again = await solo.withTenant(t.id, (db) =>
        db.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"),
      );
      expect(again.rows[0]!.n).toBe(0);
    } finally {
      await solo.close();
    }
  });

  it("a database tenant that grants another tenant's role a privilege or a large object in its own database cannot block that tenant's deletion", async () => {
    const victim = await tenancy.tenants.create({ slug: 'atk-victim-db', name: 'Victim of a database tenant' });
    await tenancy.withTenant(d.id, async (db) => {
      await db.query(`grant usage on schema public to "${victim.role}"`);
      const { rows } = await db.query<{ oid: number }>("select lo_from_bytea(0, 'shared') as oid");
      await db.query(`grant select on large object ${rows[0]!.oid} to "${victim.role}"`);
    });
    const deleted = await tenancy.tenants.delete(victim.id);
    expect(deleted.status).toBe('DELETED');
    const { rowCount } = await h.admin.query('select 1 from pg_roles where rolname = $1', [victim.role]);
    expect(rowCount).toBe(0);
  });
});
