import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeClient, setupHarness } from './helpers.js';
import { LEAK_CASES, backendPid, leakContext, prepareLeakTenant, type LeakContext } from './session-leaks-corpus.js';
import type { Tenancy, Tenant } from '../src/index.js';

/**
 * Nothing of one tenant's session survives into the next: a pool of ONE connection, so tenant
 * B's unit of work (and Tenantry's own registry queries) run on the very backend tenant A just
 * used — the backend pid is checked — after A left session state behind in ways no keyword or
 * command tag reveals.
 */
const h = await setupHarness();

let tenancy: Tenancy;
let ctx: LeakContext;
let superuser = false;

beforeAll(async () => {
  tenancy = await h.tenancy({ pool: { max: 1 }, listen: false, applicationName: 'session-leaks' });
  const a = await tenancy.tenants.create({ slug: 'leak-a', name: 'A' });
  const b = await tenancy.tenants.create({ slug: 'leak-b', name: 'B' });
  for (const t of [a, b]) await prepareLeakTenant(tenancy, t);
  ctx = await leakContext(runtimeClient(h), a, b);
  // Tenantry's login role (the harness's application role, not a superuser): SET SESSION AUTHORIZATION needs one.
  superuser = (await runtimeClient(h).query<{ s: boolean }>('select rolsuper as s from pg_roles where rolname = session_user')).rows[0]!.s;
});

describe('session state A leaves behind is invisible to the next owner of the connection', () => {
  for (const c of LEAK_CASES) {
    it(c.name, async (t) => {
      if (c.superuserOnly && !superuser) t.skip();
      const pidA = await tenancy.withTenant(ctx.a.id, async (db) => {
        await c.attack(db, ctx);
        return await backendPid(db);
      });
      if (c.admin) expect(await c.admin(tenancy, ctx)).toBe(pidA);
      if (c.probe) {
        await tenancy.withTenant(ctx.b.id, async (db) => {
          expect(await backendPid(db)).toBe(pidA);
          await c.probe!(db, ctx);
        });
      }
    });
  }
});

describe('the routing statement cannot be replaced', () => {
  it('a statement A prepares under the routing statement’s old name does not change A’s own next unit of work (no escalation to the login role)', async () => {
    const a = ctx.a;
    // Replaced by one that routes to the login role (`none`) — a privilege escalation if bound.
    const pidA = await tenancy.withTenant(a.id, async (db) => {
      await db.query(
        `do $$ begin
          if exists (select 1 from pg_prepared_statements where name = 'tenantry_route_rwRole') then execute 'deallocate "tenantry_route_rwRole"'; end if;
          execute 'prepare "tenantry_route_rwRole"(text, text) as select pg_catalog.set_' || 'config(''role'', ''none'', true), $1, $2';
        end $$`,
      );
      return await backendPid(db);
    });
    const again = await tenancy.withTenant(a.id, async (db) => {
      const pid = await backendPid(db);
      const { rows } = await db.query<{ u: string; path: string }>("select current_user as u, current_setting('search_path') as path");
      return { pid, ...rows[0]! };
    });
    expect(again).toEqual({ pid: pidA, u: a.role, path: `"${a.physicalName}", pg_temp` });
  });

  it('every statement of a unit of work is routed, also after A deallocated everything (DEALLOCATE ALL inside a DO block)', async () => {
    const b: Tenant = ctx.b;
    const rows = await tenancy.withTenant(b.id, async (db) => {
      await db.query("do $$ begin execute 'deallocate all'; end $$");
      return (await db.query<{ owner: string; u: string }>('select owner, current_user as u from posts')).rows;
    });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.owner === b.slug && r.u === b.role)).toBe(true);
  });
});

describe('resets that hold, and what same-tenant reuse keeps', () => {
  it('a reported setting (TimeZone through a function) is reset at release even for the same tenant', async () => {
    const a = ctx.a;
    const pid = await tenancy.withTenant(a.id, async (db) => {
      await db.query('select set_tz()');
      return await backendPid(db);
    });
    const tz = await tenancy.withTenant(a.id, async (db) => {
      expect(await backendPid(db)).toBe(pid);
      return (await db.query<{ tz: string }>("select current_setting('TimeZone') as tz")).rows[0]!.tz;
    });
    expect(tz).toBe(ctx.defaults.TimeZone);
  });

  it('an open transaction and a failing first statement keep the reset: it commits on its own, before BEGIN', async () => {
    const { a, b } = ctx;
    const pidA = await tenancy.withTenant(a.id, async (db) => {
      await db.query("do $$ begin set app.user_id = 'alice'; end $$");
      return await backendPid(db);
    });
    // B's first statement (carrying the reset) fails inside a transaction that is rolled back.
    await expect(
      tenancy.withTenant(b.id, (db) =>
        db.transaction(async (tx) => {
          await tx.query('select 1 / 0');
        }),
      ),
    ).rejects.toMatchObject({ code: '22012' });
    const seen = await tenancy.withTenant(b.id, async (db) => {
      const pid = await backendPid(db);
      const { rows } = await db.query<{ uid: string | null }>("select current_setting('app.user_id', true) as uid");
      return { pid, uid: rows[0]!.uid ?? '' };
    });
    expect(seen).toEqual({ pid: pidA, uid: '' });
  });

  it('LIMIT: state no keyword reveals (a temp table made by a function) survives into the SAME tenant’s next unit of work on that connection', async () => {
    const a = ctx.a;
    const first = await tenancy.withTenant(a.id, async (db) => {
      const pid = await backendPid(db);
      return { pid, n: Number((await db.query<{ n: string }>('select stash($1) as n', ['one'])).rows[0]!.n) };
    });
    const second = await tenancy.withTenant(a.id, async (db) => {
      const pid = await backendPid(db);
      return { pid, n: Number((await db.query<{ n: string }>('select stash($1) as n', ['two'])).rows[0]!.n) };
    });
    expect(second.pid).toBe(first.pid);
    expect(second.n).toBe(first.n + 1);
    // …and is gone as soon as another tenant gets the connection.
    const b = await tenancy.withTenant(ctx.b.id, async (db) => {
      const pid = await backendPid(db);
      return { pid, n: Number((await db.query<{ n: string }>('select stash($1) as n', ['b'])).rows[0]!.n) };
    });
    expect(b).toEqual({ pid: first.pid, n: 1 });
  });
});
