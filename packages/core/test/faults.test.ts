import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { TenantryError, type Tenancy } from '../src/index.js';

const h = await setupHarness();

async function sessionState(tenancy: Tenancy) {
  const { rows } = await tenancy.adminPool().query<{ p: string; temp: number; cursors: number; prepared: number }>(
    `select current_setting('search_path') as p,
            (select count(*)::int from pg_class where relnamespace = pg_my_temp_schema()) as temp,
            (select count(*)::int from pg_cursors) as cursors,
            (select count(*)::int from pg_prepared_statements where name not like 'tenantry_%') as prepared`,
  );
  return rows[0]!;
}
const CLEAN = { p: '"$user", public', temp: 0, cursors: 0, prepared: 0 };

describe('faults leave nothing behind', () => {
  it('an SQL error, a JS error, and an error inside a transaction: the connection is reused clean', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'err-a', name: 'A' });
    await tenancy.tenants.create({ slug: 'err-b', name: 'B' });
    await tenancy.withTenant('err-b', (db) => db.query('insert into posts (title) values ($1)', ['b-secret']));
    await expect(tenancy.withTenant('err-a', (db) => db.query('select 1 / 0'))).rejects.toMatchObject({ code: '22012' });
    await expect(tenancy.withTenant('err-a', (db) => db.query('select * from no_such_table'))).rejects.toMatchObject({ code: '42P01' });
    await expect(tenancy.withTenant('err-a', (db) => db.query('selec broken'))).rejects.toMatchObject({ code: '42601' });
    await expect(tenancy.withTenant('err-a', (db) => db.query('select $1::int', ['not a number']))).rejects.toMatchObject({
      code: '22P02',
    });
    const badValue = {
      toPostgres: () => {
        throw new Error('cannot serialise');
      },
    };
    await expect(tenancy.withTenant('err-a', (db) => db.query('select $1::text', [badValue]))).rejects.toThrow('cannot serialise');
    await expect(
      tenancy.withTenant('err-a', async (db) => {
        await db.query('insert into posts (title) values ($1)', ['a1']);
        throw new Error('application bug');
      }),
    ).rejects.toThrow('application bug');
    await expect(
      tenancy.withTenant('err-a', (db) =>
        db.transaction(async (tx) => {
          await tx.query('insert into posts (title) values ($1)', ['a-rolled-back']);
          await tx.query('select 1 / 0');
        }),
      ),
    ).rejects.toMatchObject({ code: '22012' });
    // A raw BEGIN that the unit of work forgets to finish is rolled back.
    await tenancy.withTenant('err-a', async (db) => {
      await db.query('begin');
      await db.query('insert into posts (title) values ($1)', ['a-forgotten']);
    });
    // A failed raw transaction: ROLLBACK still runs (the prefix is skipped in a failed transaction).
    await tenancy.withTenant('err-a', async (db) => {
      await db.query('begin');
      await expect(db.query('select 1 / 0')).rejects.toMatchObject({ code: '22012' });
      await db.query('rollback');
      await db.query('insert into posts (title) values ($1)', ['a2']);
    });
    expect(await sessionState(tenancy)).toEqual(CLEAN);
    const titles = await tenancy.withTenant('err-a', async (db) =>
      (await db.query<{ title: string }>('select title from posts order by id')).rows.map((r) => r.title),
    );
    expect(titles).toEqual(['a1', 'a2']);
    const b = await tenancy.withTenant('err-b', async (db) => (await db.query<{ title: string }>('select title from posts')).rows);
    expect(b).toEqual([{ title: 'b-secret' }]);
    expect(tenancy.stats().servers[0]!.destroyed).toBe(0);
  });

  it('a backend killed with pg_terminate_backend mid-unit: the connection is destroyed and the pool recovers', async () => {
    const tenancy = await h.tenancy({ pool: { max: 2 } });
    await tenancy.tenants.create({ slug: 'killed', name: 'Killed' });
    const killedPid = await tenancy
      .withTenant('killed', async (db) => {
        const pid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
        await h.admin.query('select pg_terminate_backend($1)', [pid]);
        await db.query('select 1');
        return pid;
      })
      .catch((err: unknown) => err);
    expect(killedPid).toBeInstanceOf(Error);
    expect(tenancy.stats().servers[0]!.destroyed).toBe(1);
    for (let i = 0; i < 5; i++) {
      const pid = await tenancy.withTenant(
        'killed',
        async (db) => (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid,
      );
      expect(typeof pid).toBe('number');
    }
    expect(await sessionState(tenancy)).toEqual(CLEAN);
  });

  it('a backend killed while the connection sits idle in the pool does not crash the process', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'idle-kill', name: 'Idle' });
    const pid = await tenancy.withTenant(
      'idle-kill',
      async (db) => (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid,
    );
    await h.admin.query('select pg_terminate_backend($1)', [pid]);
    await new Promise((r) => setTimeout(r, 100));
    const again = await tenancy.withTenant('idle-kill', async (db) => (await db.query<{ n: number }>('select 1 as n')).rows[0]);
    expect(again).toEqual({ n: 1 });
  });

  it('session state set by raw SQL (SET, temp tables, cursors WITH HOLD, PREPARE) never reaches the next tenant', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    const a = await tenancy.tenants.create({ slug: 'sess-a', name: 'A' });
    await tenancy.tenants.create({ slug: 'sess-b', name: 'B' });
    await tenancy.withTenant('sess-a', (db) => db.query('insert into posts (title) values ($1)', ['a-secret']));
    await tenancy.withTenant('sess-a', async (db) => {
      await db.query(`set search_path to "${a.physicalName}"`);
      await db.query('create temp table posts as select * from posts');
      await db.query('create temporary table leak (v text)');
      await db.query("insert into leak values ('a-secret')");
      await db.query('begin');
      await db.query('declare c cursor with hold for select title from posts');
      await db.query('commit');
      await db.query('prepare steal as select title from posts');
      await db.query('set statement_timeout = 1234');
    });
    expect(await sessionState(tenancy)).toEqual(CLEAN);
    await tenancy.withTenant('sess-b', async (db) => {
      expect((await db.query('select title from posts')).rows).toEqual([]);
      await expect(db.query('select * from leak')).rejects.toMatchObject({ code: '42P01' });
      await expect(db.query('fetch all from c')).rejects.toMatchObject({ code: '34000' });
      await expect(db.query('execute steal')).rejects.toMatchObject({ code: '26000' });
      expect((await db.query<{ t: string }>("select current_setting('statement_timeout') as t")).rows[0]!.t).toBe('0');
    });
  });

  it('COPY FROM STDIN is refused without wedging the connection', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'copy', name: 'Copy' });
    await expect(tenancy.withTenant('copy', (db) => db.query('copy posts (title) from stdin'))).rejects.toMatchObject({ code: '57014' });
    const n = await tenancy.withTenant(
      'copy',
      async (db) => (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0],
    );
    expect(n).toEqual({ n: 0 });
  });

  it('a transaction whose failed statement was swallowed reports TRANSACTION_ABORTED instead of pretending to commit', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'swallow', name: 'Swallow' });
    await expect(
      tenancy.withTenant('swallow', (db) =>
        db.transaction(async (tx) => {
          await tx.query('insert into posts (title) values ($1)', ['lost']);
          await tx.query('select 1 / 0').catch(() => undefined);
        }),
      ),
    ).rejects.toMatchObject({ code: 'TRANSACTION_ABORTED' });
    // A nested transaction is the way to survive a failed statement.
    await tenancy.withTenant('swallow', (db) =>
      db.transaction(async (tx) => {
        await tx.query('insert into posts (title) values ($1)', ['kept']);
        await tx.transaction((sp) => sp.query('select 1 / 0')).catch(() => undefined);
      }),
    );
    const titles = await tenancy.withTenant('swallow', async (db) => (await db.query<{ title: string }>('select title from posts')).rows);
    expect(titles).toEqual([{ title: 'kept' }]);
  });

  it('a session setting changed through set_config(…, false) does not reach the next tenant', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'setcfg-a', name: 'A' });
    await tenancy.tenants.create({ slug: 'setcfg-b', name: 'B' });
    await tenancy.withTenant('setcfg-a', (db) => db.query("select set_config('statement_timeout', '1234', false)"));
    const t = await tenancy.withTenant(
      'setcfg-b',
      async (db) => (await db.query<{ t: string }>("select current_setting('statement_timeout') as t")).rows[0]!.t,
    );
    expect(t).toBe('0');
  });

  it('a temp table can never shadow a tenant table, even inside one unit of work', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'shadow', name: 'Shadow' });
    await tenancy.withTenant('shadow', async (db) => {
      await db.query('insert into posts (title) values ($1)', ['real']);
      await db.query('create temp table posts (title text)');
      await db.query("insert into pg_temp.posts values ('fake')");
      expect((await db.query('select title from posts')).rows).toEqual([{ title: 'real' }]);
    });
  });

  it('the handle is unusable after the unit of work ends; queries in flight finish before release', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'closed', name: 'Closed' });
    let leaked: import('../src/index.js').TenantDb | undefined;
    let slow: Promise<unknown> | undefined;
    await tenancy.withTenant('closed', async (db) => {
      leaked = db;
      slow = db.query('select pg_sleep(0.05)');
    });
    await expect(slow).resolves.toBeDefined();
    expect(() => leaked!.query('select 1')).toThrow(TenantryError);
    expect(() => leaked!.query('select 1')).toThrow(/has ended/);
  });

  it('cursors through the adapter client run only inside a transaction', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 } });
    await tenancy.tenants.create({ slug: 'cursor', name: 'Cursor' });
    const submittable = { submit: () => undefined };
    await tenancy.withTenant('cursor', async (db) => {
      expect(() => db.client.query(submittable)).toThrow(/only inside a transaction/);
      // pg-style callback form works.
      const n = await new Promise((resolve, reject) =>
        db.client.query('select 2 as n', (err, res) => (err ? reject(err) : resolve(res!.rows[0]))),
      );
      expect(n).toEqual({ n: 2 });
    });
  });
});
