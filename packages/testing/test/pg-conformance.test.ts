import { migrationList, TenantDb } from '@tenantry/core';
import { ormClient, tenantPool, type OrmClient, type OrmPool, type TenancyAdapter } from '@tenantry/core/adapter';
import { runAdapterConformance } from '../dist/conformance/index.js';

/** Plain pg: the unit of work itself (`db`), or the pg-shaped pool over the context's tenant. */
type PgHandle = TenantDb | OrmPool | OrmClient;

const V1 = [{ name: '0001_items', up: 'create table items (id serial primary key, owner text not null, label text not null)' }];
const V2 = [...V1, { name: '0002_notes', up: 'create table notes (id serial primary key, body text not null)' }];

/** Open transactions per client, to BEGIN at the outermost level and SAVEPOINT below it. */
const depths = new WeakMap<object, number>();

async function inClientTransaction<T>(client: OrmClient, fn: (tx: PgHandle) => Promise<T>): Promise<T> {
  const depth = depths.get(client) ?? 0;
  const [open, commit, rollback] =
    depth === 0
      ? ['begin', 'commit', 'rollback']
      : [`savepoint sp_${depth}`, `release savepoint sp_${depth}`, `rollback to savepoint sp_${depth}`];
  await client.query(open);
  depths.set(client, depth + 1);
  try {
    const result = await fn(client);
    await client.query(commit);
    return result;
  } catch (err) {
    await client.query(rollback);
    throw err;
  } finally {
    depths.set(client, depth);
  }
}

async function transaction<T>(h: PgHandle, fn: (tx: PgHandle) => Promise<T>): Promise<T> {
  if (h instanceof TenantDb) return await h.transaction(fn);
  if ('connect' in h) {
    // A pool: check a client out and BEGIN on it, as pg users do.
    const client = await h.connect();
    try {
      return await inClientTransaction(client, fn);
    } finally {
      client.release();
    }
  }
  return await inClientTransaction(h, fn);
}

runAdapterConformance<PgHandle>({
  name: 'pg',
  migrations: (version) => migrationList(version === 1 ? V1 : V2),
  adapter: (tenancy): TenancyAdapter<PgHandle> => {
    const pool = tenantPool(tenancy);
    return {
      name: 'pg',
      capabilities: { transactions: true, savepoints: true, migrations: 'sql', isolationLevels: false },
      bind: (db) => (Math.random() < 0.5 ? db : ormClient(db)),
      current: () => pool,
    };
  },
  ops: {
    insert: async (h, item) => {
      await h.query('insert into items (owner, label) values ($1, $2)', [item.owner, item.label]);
    },
    list: async (h) => (await h.query('select owner, label from items'))!.rows as { owner: string; label: string }[],
    transaction,
    fail: (h) => h.query('insert into items (owner, label) values ($1, null)', ['x'])!,
  },
});
