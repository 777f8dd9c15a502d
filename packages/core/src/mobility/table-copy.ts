/**
 * Binary `COPY` of one table, out of and into a connection, through pg-copy-streams. The bytes
 * are PostgreSQL's binary COPY format: types keep their exact values (json text, arrays, bytea,
 * timestamptz to the microsecond, enums by label), and the same rows in the same order give the
 * same bytes, which is what the archive's checksums rely on.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { quoteIdent } from '../identifiers.js';
import type { ArchivedTable } from './archive-format.js';

/** Data chunks are gathered to about this size before they are handed on. */
const CHUNK = 1024 * 1024;

function copyTarget(schema: string, table: ArchivedTable): string {
  return `${quoteIdent(schema)}.${quoteIdent(table.name)} (${table.columns.map((c) => quoteIdent(c.name)).join(', ')})`;
}

/** Copies `table` out in binary; `onChunk` gets chunks of about 1 MiB. Returns its rows and the sha256 of the bytes. */
export async function copyTableOut(
  client: pg.ClientBase,
  schema: string,
  table: ArchivedTable,
  onChunk: (chunk: Buffer) => Promise<void>,
): Promise<{ rows: number; sha256: string }> {
  const stream = client.query(copyTo(`copy ${copyTarget(schema, table)} to stdout (format binary)`));
  const hash = createHash('sha256');
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    pending.push(chunk);
    size += chunk.length;
    if (size >= CHUNK) {
      const out = Buffer.concat(pending);
      pending = [];
      size = 0;
      await onChunk(out);
    }
  }
  if (size > 0) await onChunk(Buffer.concat(pending));
  return { rows: stream.rowCount, sha256: hash.digest('hex') };
}

/** Copies binary COPY data from `chunks` into `table`. Returns the rows loaded and the sha256 of the bytes. */
export async function copyTableIn(
  client: pg.ClientBase,
  schema: string,
  table: ArchivedTable,
  chunks: AsyncIterable<Buffer>,
): Promise<{ rows: number; sha256: string }> {
  const hash = createHash('sha256');
  const sink = client.query(copyFrom(`copy ${copyTarget(schema, table)} from stdin (format binary)`));
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(hashed()), sink);
  return { rows: sink.rowCount, sha256: hash.digest('hex') };
}

/** Every sequence's position in `schema`. Sequences are not transactional: this is their state now. */
export async function readSequences(
  client: pg.ClientBase,
  schema: string,
  names: readonly string[],
): Promise<{ name: string; lastValue: string; isCalled: boolean }[]> {
  const out: { name: string; lastValue: string; isCalled: boolean }[] = [];
  for (const name of names) {
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(
      `select last_value::text as last_value, is_called from ${quoteIdent(schema)}.${quoteIdent(name)}`,
    );
    out.push({ name, lastValue: rows[0]!.last_value, isCalled: rows[0]!.is_called });
  }
  return out;
}
