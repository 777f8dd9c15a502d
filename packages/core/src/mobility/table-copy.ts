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
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent } from '../identifiers.js';
import type { ArchivedTable } from './archive-format.js';

/** Data chunks are gathered to about this size before they are handed on. */
const CHUNK = 1024 * 1024;

function copyTarget(schema: string, table: ArchivedTable): string {
  return `${quoteIdent(schema)}.${quoteIdent(table.name)} (${table.columns.map((c) => quoteIdent(c.name)).join(', ')})`;
}

/** Protocol message codes seen while a COPY streams out (PostgreSQL's protocol-message-formats). */
const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const COPY_OUT_RESPONSE = 0x48; // H
/** Asynchronous messages the server may put between CopyData messages: skipped, as pg-copy-streams does. */
const INTERSPERSED = new Set([0x41 /* A, notification */, 0x4e /* N, notice */, 0x53 /* S, parameter status */]);

/** The part of pg's connection a COPY reads from directly. */
interface RawConnection {
  readonly stream: Readable;
  query(text: string): void;
}

/**
 * `COPY … TO STDOUT` as a readable stream of chunks of `size` bytes (the last one shorter): the
 * COPY data with the protocol's per-row message headers removed, byte for byte what
 * pg-copy-streams' `to()` yields, but gathered by copying each row's bytes into the chunk
 * instead of making a Buffer per row (the per-row Buffers and their garbage were most of the
 * Node CPU a COPY cost). Like `to()`, it takes the connection's socket over while the COPY runs
 * and hands it back to pg at CopyDone (or before an ErrorResponse, which pg then reports here).
 * Destroyed early, it reads the rest of the COPY and drops it, so the connection stays usable
 * (its transaction can still be rolled back).
 */
export class CopyOutStream extends Readable {
  readonly #text: string;
  readonly #size: number;
  /** Rows, from the server's `COPY n` command tag. */
  rowCount = 0;
  #connection: RawConnection | undefined;
  #pgDataHandler: ((chunk: Buffer) => void) | undefined;
  readonly #onReadable = (): void => this.#forward();
  #wanted = false;
  #forwarding = false;
  #attached = false;
  #discard = false;
  #ended = false;
  /** The message being read: its header (code and length, 5 bytes), then its content. */
  readonly #head = Buffer.alloc(5);
  #headLength = 0;
  #code = 0;
  #remaining = 0;
  #inContent = false;
  #out: Buffer;
  #outLength = 0;

  constructor(text: string, size: number = CHUNK) {
    // Object mode: each chunk is read as it was pushed, never merged with the next.
    super({ objectMode: true, highWaterMark: 2 });
    this.#text = text;
    this.#size = size;
    this.#out = Buffer.allocUnsafe(size);
  }

  /** @internal called by pg when the query's turn comes. */
  submit(connection: unknown): void {
    const c = connection as RawConnection;
    this.#connection = c;
    const listeners = c.stream.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) throw new Error(`expected one data listener on pg's socket, found ${listeners.length}`);
    this.#pgDataHandler = listeners[0]!;
    c.stream.removeListener('data', this.#pgDataHandler);
    c.stream.pause();
    this.#attached = true;
    c.stream.on('readable', this.#onReadable);
    c.query(this.#text);
    this.#forward();
  }

  override _read(): void {
    this.#wanted = true;
    this.#forward();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Keep reading so that the COPY ends and pg gets its connection back; drop the data.
    this.#discard = true;
    this.#forward();
    callback(err);
  }

  #forward(): void {
    if (this.#forwarding || !this.#attached || this.#connection === undefined) return;
    this.#forwarding = true;
    try {
      let chunk: Buffer | null;
      while (this.#attached && (this.#wanted || this.#discard) && (chunk = this.#connection.stream.read() as Buffer | null) !== null)
        this.#parse(chunk);
    } finally {
      this.#forwarding = false;
    }
  }

  #emit(buf: Buffer): void {
    if (this.#discard) return;
    this.#wanted = this.push(buf);
  }

  #parse(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.#inContent) {
        if (this.#headLength === 0) {
          const code = chunk[i]!;
          if (code !== COPY_DATA && code !== COPY_DONE && code !== COPY_OUT_RESPONSE && !INTERSPERSED.has(code)) {
            // An ErrorResponse (or anything else that ends copy-out mode): pg reads it from here.
            this.#detach(chunk.subarray(i));
            return;
          }
        }
        while (this.#headLength < 5 && i < n) this.#head[this.#headLength++] = chunk[i++]!;
        if (this.#headLength < 5) return;
        this.#headLength = 0;
        this.#code = this.#head[0]!;
        this.#remaining = this.#head.readUInt32BE(1) - 4;
        this.#inContent = true;
      }
      const take = Math.min(this.#remaining, n - i);
      if (this.#code === COPY_DATA) {
        let from = i;
        let left = take;
        while (left > 0) {
          const k = Math.min(left, this.#size - this.#outLength);
          chunk.copy(this.#out, this.#outLength, from, from + k);
          this.#outLength += k;
          from += k;
          left -= k;
          if (this.#outLength === this.#size) {
            const full = this.#out;
            this.#out = Buffer.allocUnsafe(this.#size);
            this.#outLength = 0;
            this.#emit(full);
          }
        }
      }
      i += take;
      this.#remaining -= take;
      if (this.#remaining > 0) return;
      this.#inContent = false;
      if (this.#code === COPY_DONE) {
        if (this.#outLength > 0) this.#emit(this.#out.subarray(0, this.#outLength));
        this.#outLength = 0;
        // The stream ends at ReadyForQuery, once pg has passed on the `COPY n` tag (rowCount).
        this.#detach(chunk.subarray(i));
        return;
      }
    }
  }

  #detach(rest: Buffer): void {
    const c = this.#connection!;
    const handler = this.#pgDataHandler!;
    this.#attached = false;
    c.stream.removeListener('readable', this.#onReadable);
    c.stream.on('data', handler);
    handler(rest);
    // The data handler may pause the socket (its own backpressure): resume after it returned.
    process.nextTick(() => c.stream.resume());
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.destroyed) this.push(null);
  }

  /** @internal pg: an ErrorResponse, or the connection failed. */
  handleError(err: Error): void {
    this.#ended = true;
    this.destroy(err);
  }

  /** @internal pg: the `COPY n` tag. */
  handleCommandComplete(msg: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(msg?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  /** @internal pg: the query is over, its row count known: the stream ends. */
  handleReadyForQuery(): void {
    this.#end();
  }
}

/**
 * Copies `table` out in binary; `onChunk` gets chunks of 1 MiB (the last one shorter). Returns
 * its rows and the sha256 of the bytes, taken once per chunk as it passes.
 */
export async function copyTableOut(
  client: pg.ClientBase,
  schema: string,
  table: ArchivedTable,
  onChunk: (chunk: Buffer) => Promise<void>,
): Promise<{ rows: number; sha256: string }> {
  const stream = client.query(new CopyOutStream(`copy ${copyTarget(schema, table)} to stdout (format binary)`));
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    await onChunk(chunk);
  }
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
