// CopyOutStream (mobility/table-copy.ts), the COPY TO reader of backups and moves: the same bytes
// as pg-copy-streams' `to()`, in chunks of a fixed size, and a connection that stays usable
// whether the COPY fails on the server or its reader stops early.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { setupHarness } from './helpers.js';
import { CopyOutStream } from '../src/mobility/table-copy.js';

const h = await setupHarness();
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client(h.db.url);
  await client.connect();
  await client.query(
    `create table copy_out (id bigint primary key, payload text not null, doc jsonb, at timestamptz not null default now(), blob bytea)`,
  );
  // Rows of varied lengths (3 B to ≈ 5 KB), so message headers straddle the socket's reads.
  await client.query(
    `insert into copy_out (id, payload, doc, blob)
     select g, repeat(md5(g::text), 1 + (g * 7919) % 150), jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g)),
            case when g % 5 = 0 then null else decode(md5(g::text), 'hex') end
       from generate_series(1, 6000) g`,
  );
}, 60_000);
afterAll(async () => {
  await client?.end();
});

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks;
}

const COPY = 'copy copy_out to stdout (format binary)';

describe('CopyOutStream', () => {
  it('yields byte for byte what pg-copy-streams yields, in chunks of the size asked, and the row count', async () => {
    const reference = Buffer.concat(await drain(client.query(copyTo(COPY))));
    expect(reference.length).toBeGreaterThan(5 * 1024 * 1024);
    for (const size of [1024 * 1024, 65_536, 4093]) {
      const stream = client.query(new CopyOutStream(COPY, size));
      const chunks = await drain(stream);
      expect(chunks.slice(0, -1).every((c) => c.length === size)).toBe(true);
      expect(chunks.at(-1)!.length).toBeGreaterThan(0);
      expect(chunks.at(-1)!.length).toBeLessThanOrEqual(size);
      const got = Buffer.concat(chunks);
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(reference).digest('hex'));
      expect(stream.rowCount).toBe(6000);
      // pg has its connection back.
      expect((await client.query('select count(*)::int as n from copy_out')).rows[0].n).toBe(6000);
    }
  });

  it('reports a COPY the server refuses as an error and leaves the connection usable', async () => {
    await expect(drain(client.query(new CopyOutStream('copy no_such_table to stdout (format binary)')))).rejects.toThrow(/no_such_table/);
    expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('stopped by its reader after the first chunk, it reads the rest of the COPY so that the transaction can still be rolled back', async () => {
    await client.query('begin');
    const stream = client.query(new CopyOutStream(COPY, 65_536));
    let seen = 0;
    await expect(
      (async () => {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          seen += chunk.length;
          throw new Error('the archive stream was closed');
        }
      })(),
    ).rejects.toThrow('the archive stream was closed');
    expect(seen).toBe(65_536);
    // With pg-copy-streams' to() this waits for ever: the socket stays paused behind the COPY.
    const rolledBack = client.query('rollback');
    await expect(
      Promise.race([rolledBack, new Promise((_, reject) => setTimeout(() => reject(new Error('the rollback never ran')), 10_000))]),
    ).resolves.toBeDefined();
    expect((await client.query('select count(*)::int as n from copy_out')).rows[0].n).toBe(6000);
  });
});
