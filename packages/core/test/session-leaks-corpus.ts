import { expect } from 'vitest';
import type { Tenancy, TenantDb, Tenant } from '../src/index.js';

/**
 * "Tenant A leaves something behind, tenant B runs on the same backend": one case per kind of
 * session state. Each `attack` is what A's unit of work runs — written the way application SQL
 * hides it (through a function, inside a `DO` block, with the keywords split), so that nothing
 * but a reset by construction can catch it. Each `probe` runs in B's unit of work on the same
 * server backend and asserts that none of it is visible.
 *
 * Shared by session-leaks.test.ts (Tenantry's own pool of one connection) and
 * session-leaks-pgbouncer.test.ts (PgBouncer in transaction mode with one server connection).
 */

/** What a case knows about the world. */
export interface LeakContext {
  readonly a: Tenant;
  readonly b: Tenant;
  /** The login role of Tenantry's connections. */
  readonly login: string;
  /** Settings of a fresh session on the server. */
  readonly defaults: { readonly TimeZone: string; readonly statement_timeout: string; readonly work_mem: string };
}

export interface LeakCase {
  readonly name: string;
  /** Only when the login role is a superuser (SET SESSION AUTHORIZATION needs one). */
  readonly superuserOnly?: boolean;
  /** Runs in A's unit of work. */
  readonly attack: (db: TenantDb, ctx: LeakContext) => Promise<unknown>;
  /**
   * Runs after A's unit of work through Tenantry's registry / admin pool, on the backend A used;
   * asserts it sees none of A's session. Returns that backend's pid.
   */
  readonly admin?: (tenancy: Tenancy, ctx: LeakContext) => Promise<number>;
  /** Runs in B's unit of work, on the backend A used; asserts B's isolation. */
  readonly probe?: (db: TenantDb, ctx: LeakContext) => Promise<void>;
}

/** Fresh-session settings and the login role, read on a client that Tenantry never touched. */
export async function leakContext(
  client: { query<R extends object>(text: string): Promise<{ rows: R[] }> },
  a: Tenant,
  b: Tenant,
): Promise<LeakContext> {
  const { rows } = await client.query<{ tz: string; st: string; wm: string; login: string }>(
    "select current_setting('TimeZone') as tz, current_setting('statement_timeout') as st, current_setting('work_mem') as wm, session_user as login",
  );
  const r = rows[0]!;
  return { a, b, login: r.login, defaults: { TimeZone: r.tz, statement_timeout: r.st, work_mem: r.wm } };
}

/** Registry and admin queries run as the login role, outside any tenant: they list tenants and see no session of A. */
async function expectCleanAdmin(tenancy: Tenancy, ctx: LeakContext): Promise<number> {
  await tenancy.tenants.list({ limit: 5 });
  const { rows } = await tenancy
    .adminPool()
    .query<{ pid: number; u: string; s: string; path: string }>(
      "select pg_backend_pid() as pid, current_user as u, session_user as s, current_setting('search_path') as path",
    );
  expect({ u: rows[0]!.u, s: rows[0]!.s, path: rows[0]!.path }).toEqual({ u: ctx.login, s: ctx.login, path: '"$user", public' });
  return rows[0]!.pid;
}

/** Objects every corpus tenant has: a timestamp default, helper functions that touch the session. */
export async function prepareLeakTenant(tenancy: Tenancy, tenant: Tenant): Promise<void> {
  await tenancy.withTenant(tenant.id, async (db) => {
    await db.query('create table stamps (id serial primary key, at timestamp not null default localtimestamp)');
    // A "helper" that changes the session's time zone (e.g. to format a report).
    await db.query(
      "create function set_tz() returns void language plpgsql as $$ begin perform pg_catalog.set_config('TimeZone', 'Pacific/Kiritimati', false); end $$",
    );
    // A function that keeps scratch data in a temporary table.
    await db.query(
      'create function stash(v text) returns bigint language plpgsql as $$ begin create temporary table if not exists scratch (v text); insert into scratch values (v); return (select count(*) from scratch); end $$',
    );
    // A function that takes a session-level advisory lock (and forgets to release it).
    await db.query('create function grab() returns void language plpgsql as $$ begin perform pg_advisory_lock(4242); end $$');
    for (let i = 0; i < 2; i++) await db.query('insert into posts (title, owner) values ($1, $2)', [`${tenant.slug}:${i}`, tenant.slug]);
  });
}

export async function backendPid(db: TenantDb): Promise<number> {
  return (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
}

/** B sees its own rows, as its own role, and its inserts land in its own table. */
async function expectOwnRouting(db: TenantDb, ctx: LeakContext): Promise<void> {
  const { rows } = await db.query<{ owner: string; u: string }>('select owner, current_user as u from posts');
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.every((r) => r.owner === ctx.b.slug && r.u === ctx.b.role)).toBe(true);
  const inserted = await db.query<{ u: string; schema: string }>(
    "insert into posts (title, owner) values ('probe', $1) returning current_user as u, (select current_schema()) as schema",
    [ctx.b.slug],
  );
  expect(inserted.rows[0]).toEqual({ u: ctx.b.role, schema: ctx.b.physicalName });
  await db.query("delete from posts where title = 'probe'");
}

/** Splits `set_config` inside a string literal of a DO block, as code that builds SQL would hide it. */
export function splitKeyword(literalBody: string): string {
  return literalBody.replace(/set_config/g, "set_' || 'config");
}

/** PREPAREs, inside a DO block, a replacement for a statement named like Tenantry's old routing statement. */
function replaceRoutingStatement(role: string, path: string): string {
  // The prepared-statement names of the routing statement up to this change: tenantry_route_<mode>.
  const body = `select pg_catalog.set_config('search_path', '${path.replace(/'/g, "''")}', true), pg_catalog.set_config('role', '${role}', true)`;
  const stmts = ['rw', 'rwRole', 'ro', 'roRole']
    .map(
      (mode) =>
        `if exists (select 1 from pg_prepared_statements where name = 'tenantry_route_${mode}') then execute 'deallocate "tenantry_route_${mode}"'; end if;
         execute 'prepare "tenantry_route_${mode}"(text, text) as ${splitKeyword(body.replace(/'/g, "''"))}';`,
    )
    .join('\n');
  return `do $$ begin ${stmts} end $$`;
}

export const LEAK_CASES: readonly LeakCase[] = [
  {
    name: 'a TimeZone set by a function A calls does not shift B’s localtimestamp defaults',
    attack: (db) => db.query('select set_tz()'),
    probe: async (db, ctx) => {
      const { rows } = await db.query<{ tz: string; skew: number }>(
        'with s as (insert into stamps default values returning at) select current_setting($1) as tz, abs(extract(epoch from (select at from s) - (now() at time zone $2)))::float8 as skew',
        ['TimeZone', ctx.defaults.TimeZone],
      );
      expect(rows[0]!.tz).toBe(ctx.defaults.TimeZone);
      expect(rows[0]!.skew).toBeLessThan(60);
    },
  },
  {
    name: 'SET inside a DO block (custom app.user_id, statement_timeout) does not reach B',
    attack: (db) => db.query("do $$ begin set app.user_id = 'alice'; set statement_timeout = 1234; set work_mem = '7MB'; end $$"),
    probe: async (db, ctx) => {
      const { rows } = await db.query<{ uid: string | null; st: string; wm: string }>(
        "select current_setting('app.user_id', true) as uid, current_setting('statement_timeout') as st, current_setting('work_mem') as wm",
      );
      expect({ uid: rows[0]!.uid ?? '', st: rows[0]!.st, wm: rows[0]!.wm }).toEqual({
        uid: '',
        st: ctx.defaults.statement_timeout,
        wm: ctx.defaults.work_mem,
      });
    },
  },
  {
    name: 'a temporary table created by a function A calls is gone for B (B’s own call of the same function starts empty)',
    attack: (db) => db.query('select stash($1)', ['from-a']),
    probe: async (db) => {
      const { rows } = await db.query<{ n: string }>('select stash($1) as n', ['from-b']);
      expect(Number(rows[0]!.n)).toBe(1);
    },
  },
  {
    name: 'a session SET ROLE inside a DO block does not reach Tenantry’s registry queries (listing tenants works, as the login role)',
    attack: (db, ctx) => db.query(`do $$ begin set role "${ctx.a.role}"; end $$`),
    admin: expectCleanAdmin,
    probe: expectOwnRouting,
  },
  {
    name: 'SET SESSION AUTHORIZATION inside a DO block reaches neither the registry nor B',
    superuserOnly: true,
    attack: (db, ctx) => db.query(`do $$ begin set session authorization "${ctx.a.role}"; end $$`),
    admin: expectCleanAdmin,
    probe: async (db, ctx) => {
      await expectOwnRouting(db, ctx);
      const { rows } = await db.query<{ s: string }>('select session_user as s');
      expect(rows[0]!.s).toBe(ctx.login);
    },
  },
  {
    name: 'a statement A prepares under the routing statement’s old name never routes B (B’s reads and inserts stay in B)',
    attack: (db, ctx) => db.query(replaceRoutingStatement(ctx.a.role!, `"${ctx.a.physicalName}", pg_temp`)),
    probe: async (db, ctx) => {
      await expectOwnRouting(db, ctx);
      const { rows } = await db.query<{ name: string }>('select name from pg_prepared_statements');
      expect(rows).toEqual([]);
    },
  },
  {
    name: 'a statement A prepares under any name is gone for B',
    attack: (db) => db.query("do $$ begin execute 'prepare leftover_stmt as select title from posts'; end $$"),
    probe: async (db) => {
      await expect(db.query('execute leftover_stmt')).rejects.toMatchObject({ code: '26000' });
      const { rows } = await db.query('select name from pg_prepared_statements');
      expect(rows).toEqual([]);
    },
  },
  {
    name: 'a WITH HOLD cursor A declared cannot be fetched by B',
    attack: (db) =>
      db.query("do $$ begin execute 'declare leftover_cursor cursor wi' || 'th ho' || 'ld for select title, owner from posts'; end $$"),
    probe: async (db) => {
      await expect(db.query('fetch all from leftover_cursor')).rejects.toMatchObject({ code: '34000' });
      const { rows } = await db.query("select name from pg_cursors where name <> ''");
      expect(rows).toEqual([]);
    },
  },
  {
    name: 'a channel A LISTENs on is not listened to in B’s session',
    attack: (db) => db.query("do $$ begin execute 'listen leftover_channel'; end $$"),
    probe: async (db) => {
      const { rows } = await db.query('select pg_listening_channels() as c');
      expect(rows).toEqual([]);
    },
  },
  {
    name: 'a session advisory lock A’s function took is not held in B’s session',
    attack: (db) => db.query('select grab()'),
    probe: async (db) => {
      const { rows } = await db.query<{ n: number }>(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()",
      );
      expect(rows[0]!.n).toBe(0);
    },
  },
];
