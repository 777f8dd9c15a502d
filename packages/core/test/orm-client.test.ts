import { beforeAll, describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import type { Tenancy, Tenant } from '../src/index.js';
import { ormClient } from '../src/for-adapters.js';

/**
 * The ORM-facing client turns an ORM's transaction statements into the unit of work's
 * transaction and savepoints. Its results must be PostgreSQL's: the same script is run raw on a
 * plain connection and through the client, and must leave the same rows.
 */
const h = await setupHarness();
let tenancy: Tenancy;
let t: Tenant;

beforeAll(async () => {
  tenancy = await h.tenancy();
  t = await tenancy.tenants.create({ slug: 'orm-client', name: 'ORM client' });
});

const SCRIPT = [
  'begin',
  "insert into posts (title) values ('a')",
  'savepoint s1',
  "insert into posts (title) values ('b')",
  'rollback to savepoint s1',
  // The savepoint survives its rollback: still inside s1.
  "insert into posts (title) values ('c')",
  'rollback to savepoint s1',
  "insert into posts (title) values ('d')",
  'release savepoint s1',
  'savepoint s2',
  "insert into posts (title) values ('e')",
  'savepoint s3',
  "insert into posts (title) values ('f')",
  // Rolls back s3 too, keeps s2 open; never released: COMMIT ends it.
  'rollback to savepoint s2',
  "insert into posts (title) values ('g')",
  'commit',
];

describe('ormClient transaction statements', () => {
  it('ROLLBACK TO keeps the savepoint, as PostgreSQL does: the same script leaves the same rows raw and through the client', async () => {
    // Raw, on a plain connection in a scratch schema.
    await h.admin.query('create schema orm_client_raw');
    await h.admin.query('create table orm_client_raw.posts (id serial primary key, title text not null)');
    await h.admin.query('set search_path to orm_client_raw');
    for (const sql of SCRIPT) await h.admin.query(sql);
    const expected = (await h.admin.query<{ title: string }>('select title from orm_client_raw.posts order by id')).rows.map(
      (r) => r.title,
    );
    await h.admin.query('reset search_path');
    expect(expected).toEqual(['a', 'd', 'g']);
    // Through the client, in the tenant.
    await tenancy.withTenant(t.id, async (db) => {
      const client = ormClient(db);
      for (const sql of SCRIPT) await client.query(sql);
    });
    const got = await tenancy.withTenant(t.id, async (db) =>
      (await db.query<{ title: string }>('select title from posts order by id')).rows.map((r) => r.title),
    );
    expect(got).toEqual(expected);
  });
});
