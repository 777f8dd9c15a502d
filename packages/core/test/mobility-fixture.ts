// Shared by the mobility tests: a migration folder with every column type the ORMs produce, a
// tenant filled with awkward data, and a way to read a tenant back whole for comparison.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import type { ArchiveManifest, Tenancy } from '../src/index.js';

/** A fresh folder with the mobility migrations (json, arrays, bytea, timestamptz, enums, generated columns, sequences, FKs, a trigger, a dropped column). */
export function mobilityMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-mobility-'));
  writeFileSync(
    join(dir, '0001_types.sql'),
    `create type mood as enum ('sad', 'ok', 'happy');
create table authors (id serial primary key, name text not null, mentor_id int references authors (id));
create table posts (
  id bigint generated always as identity primary key,
  author_id int not null references authors (id) on delete cascade,
  title text not null,
  body jsonb,
  meta json,
  tags text[],
  grid int[][],
  blob bytea,
  at timestamptz not null default now(),
  mood mood,
  price numeric(12, 4),
  title_len int generated always as (length(title)) stored,
  updated_at timestamptz
);
create index posts_author on posts (author_id);
create sequence invoice_no start 1000;
create function touch() returns trigger language plpgsql as $$ begin new.updated_at := clock_timestamp(); return new; end $$;
create trigger posts_touch before insert or update on posts for each row execute function touch();
`,
  );
  writeFileSync(
    join(dir, '0002_scratch_column.sql'),
    `alter table posts add column scratch text;\nalter table posts drop column scratch;\n`,
  );
  writeFileSync(
    join(dir, '0003_comments.sql'),
    `create table comments (post_id bigint references posts (id), n int, primary key (post_id, n));\n`,
  );
  return dir;
}

/** Fills a tenant with data that trips naive copies: cycles in FKs, NULLs, NUL bytes, unicode, microseconds, gaps in sequences. */
export async function fill(tenancy: Tenancy, tenant: string, rows = 40): Promise<void> {
  await tenancy.withTenant(tenant, async (db) => {
    await db.transaction(async (tx) => {
      await tx.query(`insert into authors (name) values ('Ada'), ('Grace'), ('Zoë ☃'), ('gap')`);
      await tx.query(`update authors set mentor_id = 2 where id = 1`);
      await tx.query(`update authors set mentor_id = 1 where id = 2`);
      await tx.query(`delete from authors where name = 'gap'`);
      for (let i = 0; i < rows; i++) {
        await tx.query(
          `insert into posts (author_id, title, body, meta, tags, grid, blob, at, mood, price)
           values ($1, $2, $3, $4::json, $5, $6, $7, $8, $9, $10)`,
          [
            (i % 3) + 1,
            i % 7 === 0 ? `quote ' and "double" \\ back ${i}` : `post ${i}`,
            i % 5 === 0 ? null : { n: i, nested: { list: [1, 'two', null, true] }, é: 'ü' },
            `{ "kept":  "as written", "n" : ${i} }`,
            i % 4 === 0 ? null : ['a', null, `t${i}`, 'with,comma', '{brace}'],
            [
              [i, i + 1],
              [i + 2, null],
            ],
            Buffer.from([0, 1, 2, 255, i % 256, 0]),
            new Date(Date.UTC(2024, 1, 29, 12, 0, 0) + i * 1001),
            ['sad', 'ok', 'happy', null][i % 4],
            i % 6 === 0 ? null : `${i}.${String(i).padStart(4, '0')}`,
          ],
        );
      }
      await tx.query(`update posts set at = at + interval '123 microseconds' where id % 2 = 0`);
      await tx.query(`delete from posts where id in (3, 4)`);
      await tx.query(`insert into comments select id, 1 from posts where id % 3 = 0`);
      await tx.query(`select nextval('invoice_no') from generate_series(1, 5)`);
    });
  });
}

/** Everything of a tenant's data, as text: every row of every table, sequence positions. */
export async function snapshotOf(tenancy: Tenancy, tenant: string): Promise<Record<string, unknown>> {
  return await tenancy.withTenant(tenant, async (db) => ({
    authors: (await db.query('select row_to_json(a)::text as r from authors a order by id')).rows.map((r) => r['r']),
    posts: (await db.query('select row_to_json(p)::text as r from posts p order by id')).rows.map((r) => r['r']),
    comments: (await db.query('select row_to_json(c)::text as r from comments c order by post_id, n')).rows.map((r) => r['r']),
    sequences: (
      await db.query(
        `select 'authors_id_seq' as s, last_value::text, is_called from authors_id_seq
         union all select 'posts_id_seq', last_value::text, is_called from posts_id_seq
         union all select 'invoice_no', last_value::text, is_called from invoice_no`,
      )
    ).rows,
  }));
}

/** The next values each sequence hands out (advances them). */
export async function nextValues(tenancy: Tenancy, tenant: string): Promise<unknown[]> {
  return await tenancy.withTenant(tenant, async (db) => {
    const a = (await db.query(`insert into authors (name) values ('next') returning id`)).rows[0]!['id'];
    const p = (await db.query(`insert into posts (author_id, title) values (1, 'next') returning id`)).rows[0]!['id'];
    const i = (await db.query(`select nextval('invoice_no') as v`)).rows[0]!['v'];
    return [a, p, i];
  });
}

/** A backup into memory. */
export async function backupToBuffer(tenancy: Tenancy, tenant: string): Promise<{ archive: Buffer; manifest: ArchiveManifest }> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const manifest = await tenancy.mobility.backup(tenant, out);
  return { archive: Buffer.concat(chunks), manifest };
}

/** A stream over an archive, in small pieces (frames cross chunk boundaries). */
export function streamOf(archive: Buffer, piece = 7_777): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < archive.length; i += piece) pieces.push(archive.subarray(i, i + piece));
  return Readable.from(pieces);
}

/**
 * The tenant containers (`t_<id>` schemas and databases) on the server of `url` that belong to
 * the registry at `registryUrl`: databases are the whole cluster's, and other test files' tenant
 * databases carry their registries' marker, so only unmarked ones and this registry's count.
 */
export async function containers(url: string, registryUrl: string): Promise<string[]> {
  const registry = new pg.Client(registryUrl);
  await registry.connect();
  let marker: string;
  try {
    marker = (await registry.query<{ m: string }>(`select 'tenantry:' || id as m from tenantry.registry_info`)).rows[0]!.m;
  } finally {
    await registry.end();
  }
  const c = new pg.Client(url);
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>(
      `select nspname as n from pg_namespace where nspname ~ '^t_[0-9a-f]{32}$'
       union all
       select datname from pg_database
        where datname ~ '^t_[0-9a-f]{32}$' and coalesce(shobj_description(oid, 'pg_database'), '') in ('', $1)
       order by 1`,
      [marker],
    );
    return rows.map((r) => r.n);
  } finally {
    await c.end();
  }
}
