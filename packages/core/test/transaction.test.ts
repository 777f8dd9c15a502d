import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { setupHarness } from './helpers.js';
import { inTransaction } from '../src/transaction.js';

const h = await setupHarness();

async function backendPid(client: pg.ClientBase): Promise<number> {
  return (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
}

async function alive(pid: number): Promise<boolean> {
  const { rowCount } = await h.admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
  return rowCount === 1;
}

describe('inTransaction', () => {
  it('commits what the callback did and pools the connection again', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 }, applicationName: 'tx-commit' });
    const pool = tenancy.adminPool();
    const pid = await inTransaction(
      () => pool.connect(),
      async (client) => {
        await client.query('create table tx_commit (n int)');
        await client.query('insert into tx_commit values (1)');
        return await backendPid(client);
      },
    );
    expect((await h.admin.query('select n from tx_commit')).rows).toEqual([{ n: 1 }]);
    const again = await pool.connect();
    expect(await backendPid(again)).toBe(pid);
    again.release();
  });

  it('rolls back when the callback throws, and the connection is reused clean', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 }, applicationName: 'tx-rollback' });
    const pool = tenancy.adminPool();
    await h.admin.query('create table tx_rollback (n int)');
    let pid = 0;
    await expect(
      inTransaction(
        () => pool.connect(),
        async (client) => {
          pid = await backendPid(client);
          await client.query('insert into tx_rollback values (1)');
          throw new Error('application bug');
        },
      ),
    ).rejects.toThrow('application bug');
    expect((await h.admin.query('select count(*)::int as n from tx_rollback')).rows).toEqual([{ n: 0 }]);
    const again = await pool.connect();
    expect(await backendPid(again)).toBe(pid);
    expect((again as unknown as { getTransactionStatus(): string | null }).getTransactionStatus()).toBe('I');
    again.release();
  });

  it('a connection whose ROLLBACK failed is destroyed, never handed out again', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 }, applicationName: 'tx-broken' });
    const pool = tenancy.adminPool();
    let pid = 0;
    await expect(
      inTransaction(
        async () => {
          const client = await pool.connect();
          // The ROLLBACK fails as when the network drops it; the session itself is left in its
          // transaction, holding its lock: exactly what must never reach the next caller.
          const query = client.query.bind(client) as (...args: unknown[]) => unknown;
          (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, ...rest: unknown[]) =>
            text === 'rollback' ? Promise.reject(new Error('simulated: the ROLLBACK never arrived')) : query(text, ...rest);
          return client;
        },
        async (client) => {
          pid = await backendPid(client);
          await client.query('select pg_advisory_xact_lock(42)');
          throw new Error('application bug');
        },
      ),
    ).rejects.toThrow('application bug');
    // Destroyed: the backend is gone, and the next caller gets a new connection with no open transaction.
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    const next = await pool.connect();
    try {
      expect(await backendPid(next)).not.toBe(pid);
      // This file's database only: the other test files' databases share the server's pg_locks.
      const { rows } = await next.query<{ locks: number }>(
        "select count(*)::int as locks from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
      );
      expect(rows).toEqual([{ locks: 0 }]);
    } finally {
      next.release();
    }
  });

  it('a connection killed mid-transaction is destroyed; the next caller works', async () => {
    const tenancy = await h.tenancy({ pool: { max: 1 }, applicationName: 'tx-killed' });
    const pool = tenancy.adminPool();
    let pid = 0;
    await expect(
      inTransaction(
        () => pool.connect(),
        async (client) => {
          pid = await backendPid(client);
          await h.admin.query('select pg_terminate_backend($1)', [pid]);
          await client.query('select 1');
        },
      ),
    ).rejects.toThrow();
    const value = await inTransaction(
      () => pool.connect(),
      async (client) => ({ pid: await backendPid(client), one: (await client.query('select 1 as one')).rows[0] }),
    );
    expect(value.pid).not.toBe(pid);
    expect(value.one).toEqual({ one: 1 });
  });

  it('takes the advisory lock it is given for the whole transaction', async () => {
    const tenancy = await h.tenancy({ pool: { max: 2 }, applicationName: 'tx-lock' });
    const pool = tenancy.adminPool();
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = inTransaction(
      () => pool.connect(),
      async () => {
        order.push('first in');
        await held;
        order.push('first out');
      },
      { lock: 'tx-test-lock' },
    );
    await expect.poll(() => order.length).toBe(1);
    const second = inTransaction(
      () => pool.connect(),
      async () => {
        order.push('second in');
      },
      { lock: 'tx-test-lock' },
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });
});
