// A move keeps the keys whose rows the source stores in key order (maintained as COPY stores the
// rows, instead of dropped and built by a sort after): which keys those are, and that a move
// through that path leaves the same rows under the same, enforced keys.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { setupHarness } from './helpers.js';
import { orderedKeysOf } from '../src/mobility/restore.js';
import { migrationList, type Tenancy } from '../src/index.js';

const h = await setupHarness();
let tenancy: Tenancy;

beforeAll(async () => {
  tenancy = await h.tenancy({
    migrations: migrationList([
      {
        name: '0001_tables',
        up: `create table seq_rows (id bigserial primary key, v text not null);
             create table uuid_rows (id uuid primary key, v text not null unique);`,
      },
    ]),
  });
}, 60_000);
afterAll(async () => {
  await tenancy?.close();
});

async function contents(slug: string): Promise<unknown[]> {
  return await tenancy.withTenant(slug, async (db) => [
    (await db.query(`select count(*)::int as n, md5(string_agg(id::text || v, ',' order by id)) as sum from seq_rows`)).rows[0],
    (await db.query(`select count(*)::int as n, md5(string_agg(id::text || v, ',' order by id)) as sum from uuid_rows`)).rows[0],
  ]);
}

describe('keys kept in key order during a move', () => {
  it('are the analyzed primary keys and unique constraints whose leading column is stored ascending, and a move through them keeps every row and key', async () => {
    await tenancy.tenants.create({ slug: 'ordered', name: 'Ordered' });
    await tenancy.withTenant('ordered', async (db) => {
      await db.query(`insert into seq_rows (v) select md5(g::text) from generate_series(1, 3000) g`);
      await db.query(`insert into uuid_rows (id, v) select gen_random_uuid(), md5(g::text) from generate_series(1, 3000) g`);
    });
    // Before statistics exist nothing is known to be ordered.
    expect([...(await tenancy.withTenant('ordered', (db) => orderedKeysOf(db as unknown as pg.ClientBase)))]).toEqual([]);
    await tenancy.withTenant('ordered', (db) => db.query('analyze seq_rows').then(() => db.query('analyze uuid_rows')));
    expect([...(await tenancy.withTenant('ordered', (db) => orderedKeysOf(db as unknown as pg.ClientBase)))]).toEqual([
      'seq_rows.seq_rows_pkey',
    ]);

    const before = await contents('ordered');
    await tenancy.mobility.move('ordered', { isolation: 'database', retainHours: 0 });
    expect(await contents('ordered')).toEqual(before);
    await tenancy.withTenant('ordered', async (db) => {
      const { rows } = await db.query<{ name: string; valid: boolean }>(
        `select k.conname as name, i.indisvalid as valid from pg_constraint k join pg_index i on i.indexrelid = k.conindid
          where k.conrelid in ('seq_rows'::regclass, 'uuid_rows'::regclass) order by 1`,
      );
      expect(rows).toEqual([
        { name: 'seq_rows_pkey', valid: true },
        { name: 'uuid_rows_pkey', valid: true },
        { name: 'uuid_rows_v_key', valid: true },
      ]);
    });
    // The catalog is exactly what the migrations make: a backup's drift check passes.
    await expect(tenancy.mobility.backup('ordered', new Writable({ write: (_c, _e, cb) => cb() }))).resolves.toBeDefined();
    await expect(tenancy.withTenant('ordered', (db) => db.query(`insert into seq_rows (id, v) values (1, 'again')`))).rejects.toMatchObject(
      {
        code: '23505',
      },
    );
  });
});
