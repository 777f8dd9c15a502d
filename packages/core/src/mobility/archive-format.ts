/**
 * Tenantry's own archive of one tenant: a byte stream that can be written and read without
 * holding it whole in memory.
 *
 * ```
 * "TENANTRY-ARCHIVE 1\n"                      magic, 19 bytes
 * frame*                                      kind (1 ASCII byte) + length (uint32 BE) + payload
 *   H  header JSON   tenant, tier, server version, ledger, tables (with their columns), sequences
 *   T  table JSON    { table }: the COPY data of this table follows
 *   D  data          a chunk of `COPY … TO STDOUT (FORMAT binary)` of the current table
 *   E  end JSON      { table, rows, sha256 } of the current table
 *   S  sequences     JSON [{ name, lastValue, isCalled }]
 *   M  manifest JSON the header's facts plus every table's rows and sha256 and a data checksum
 *   Z  end           empty: the archive is complete
 * ```
 *
 * The manifest comes last because row counts and checksums are known only once the data has
 * gone by; a reader verifies the data against it before it commits anything.
 */
import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { ErrorCodes, TenantryError } from '../errors.js';
import type { IsolationKind } from '../types.js';

/** The first bytes of every archive. */
export const ARCHIVE_MAGIC = Buffer.from('TENANTRY-ARCHIVE 1\n', 'ascii');
/** Largest frame a reader accepts (a data chunk is at most 1 MiB; JSON frames are small). */
const MAX_FRAME = 64 * 1024 * 1024;

/** A column of an archived table, as `format_type` names its type. */
export interface ArchivedColumn {
  readonly name: string;
  readonly type: string;
}

/** A table in an archive: its columns in COPY order (generated columns are left out). */
export interface ArchivedTable {
  readonly name: string;
  readonly columns: readonly ArchivedColumn[];
}

/** A migration of the tenant's ledger at backup time. */
export interface ArchivedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: string;
}

/** A sequence's position. */
export interface SequencePosition {
  readonly name: string;
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/** What an archive starts with. */
export interface ArchiveHeader {
  readonly format: 1;
  readonly tenant: {
    readonly id: string;
    readonly slug: string;
    readonly name: string;
    readonly plan: string | null;
    readonly metadata: Readonly<Record<string, unknown>>;
  };
  /** The tier the tenant was on: `schema` or `database`. */
  readonly tier: IsolationKind;
  readonly server: string;
  /** `server_version_num` of the source. */
  readonly serverVersion: number;
  readonly ledger: readonly ArchivedMigration[];
  readonly tables: readonly ArchivedTable[];
  readonly createdAt: string;
}

/** What an archive ends with: the header's facts and what the data was. */
export interface ArchiveManifest extends ArchiveHeader {
  readonly tableData: readonly { readonly name: string; readonly rows: number; readonly sha256: string }[];
  readonly sequences: readonly SequencePosition[];
  /** sha256 over every table's name, row count and sha256, and every sequence position. */
  readonly dataChecksum: string;
}

/** The data checksum of a manifest's tables and sequences. */
export function dataChecksum(
  tables: readonly { readonly name: string; readonly rows: number; readonly sha256: string }[],
  sequences: readonly SequencePosition[],
): string {
  const hash = createHash('sha256');
  for (const t of tables) hash.update(`t\0${t.name}\0${t.rows}\0${t.sha256}\n`);
  for (const s of sequences) hash.update(`s\0${s.name}\0${s.lastValue}\0${String(s.isCalled)}\n`);
  return hash.digest('hex');
}

/** A frame of an archive. */
export type Frame =
  | { readonly kind: 'H'; readonly header: ArchiveHeader }
  | { readonly kind: 'T'; readonly table: string }
  | { readonly kind: 'D'; readonly data: Buffer }
  | { readonly kind: 'E'; readonly table: string; readonly rows: number; readonly sha256: string }
  | { readonly kind: 'S'; readonly sequences: readonly SequencePosition[] }
  | { readonly kind: 'M'; readonly manifest: ArchiveManifest }
  | { readonly kind: 'Z' };

export function archiveInvalid(message: string, cause?: unknown): TenantryError {
  return new TenantryError(ErrorCodes.ARCHIVE_INVALID, `not a usable Tenantry archive: ${message}`, cause === undefined ? {} : { cause });
}

/** Writes frames to a stream, waiting for it to drain. */
export class ArchiveWriter {
  readonly #out: Writable;
  #started = false;

  constructor(out: Writable) {
    this.#out = out;
  }

  async frame(kind: Frame['kind'], payload: Buffer | object = Buffer.alloc(0)): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      await this.#write(ARCHIVE_MAGIC);
    }
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8');
    const head = Buffer.alloc(5);
    head.write(kind, 0, 'ascii');
    head.writeUInt32BE(body.length, 1);
    await this.#write(head);
    if (body.length > 0) await this.#write(body);
  }

  async #write(buf: Buffer): Promise<void> {
    if (this.#out.destroyed) throw new TenantryError(ErrorCodes.INTERNAL, 'the archive stream was closed while it was being written');
    if (this.#out.write(buf)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.#out.off('drain', onDrain);
        this.#out.off('error', done);
        this.#out.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new Error('the archive stream was closed while it was being written'));
      this.#out.once('drain', onDrain);
      this.#out.once('error', done);
      this.#out.once('close', onClose);
    });
  }
}

/** Reads frames from a stream, one at a time, checking their kinds and JSON. */
export class ArchiveReader {
  readonly #iterator: AsyncIterator<Buffer | string>;
  #buffer: Buffer = Buffer.alloc(0);
  #magicChecked = false;
  #ended = false;

  constructor(input: Readable) {
    this.#iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  }

  async #need(n: number): Promise<boolean> {
    while (this.#buffer.length < n) {
      if (this.#ended) return false;
      const next = await this.#iterator.next();
      if (next.done) {
        this.#ended = true;
        return this.#buffer.length >= n;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'binary') : next.value;
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    }
    return true;
  }

  #take(n: number): Buffer {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** The next frame; throws `ARCHIVE_INVALID` when the stream ends early or is not an archive. */
  async next(): Promise<Frame> {
    if (!this.#magicChecked) {
      if (!(await this.#need(ARCHIVE_MAGIC.length)) || !this.#take(ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC))
        throw archiveInvalid('it does not start with the Tenantry archive signature');
      this.#magicChecked = true;
    }
    if (!(await this.#need(5))) throw archiveInvalid('it ends before its end marker (truncated?)');
    const head = this.#take(5);
    const kind = head.toString('ascii', 0, 1);
    const length = head.readUInt32BE(1);
    if (length > MAX_FRAME) throw archiveInvalid(`a frame of ${length} bytes is larger than any Tenantry writes`);
    if (!(await this.#need(length))) throw archiveInvalid('it ends in the middle of a frame (truncated?)');
    // Copied: the buffer it was sliced from is reused.
    const body = Buffer.from(this.#take(length));
    if (kind === 'D') return { kind, data: body };
    if (kind === 'Z') return { kind };
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw archiveInvalid(`frame '${kind}' is not valid JSON`, err);
    }
    if (json === null || typeof json !== 'object') throw archiveInvalid(`frame '${kind}' is not an object`);
    const o = json as Record<string, unknown>;
    switch (kind) {
      case 'H':
        return { kind, header: checkHeader(o) };
      case 'T':
        return { kind, table: checkName(o['table'], 'table') };
      case 'E':
        if (!Number.isSafeInteger(o['rows']) || typeof o['sha256'] !== 'string') throw archiveInvalid('a table end frame is malformed');
        return { kind, table: checkName(o['table'], 'table'), rows: o['rows'] as number, sha256: o['sha256'] };
      case 'S':
        if (!Array.isArray(json)) throw archiveInvalid('the sequences frame is not a list');
        return { kind, sequences: json.map(checkSequence) };
      case 'M': {
        const header = checkHeader(o);
        if (!Array.isArray(o['tableData']) || !Array.isArray(o['sequences']) || typeof o['dataChecksum'] !== 'string')
          throw archiveInvalid('the manifest is malformed');
        const tableData = (o['tableData'] as unknown[]).map((t) => {
          const tt = t as Record<string, unknown> | null;
          if (!tt || !Number.isSafeInteger(tt['rows']) || typeof tt['sha256'] !== 'string')
            throw archiveInvalid('a manifest table is malformed');
          return { name: checkName(tt['name'], 'table'), rows: tt['rows'] as number, sha256: tt['sha256'] };
        });
        return { kind, manifest: { ...header, tableData, sequences: o['sequences'].map(checkSequence), dataChecksum: o['dataChecksum'] } };
      }
      default:
        throw archiveInvalid(`unknown frame kind ${JSON.stringify(kind)}`);
    }
  }
}

/** Names in an archive become identifiers: only what Tenantry's migrations could have made. */
function checkName(v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(v)) throw archiveInvalid(`a ${what} name is not a plain identifier`);
  return v;
}

function checkSequence(v: unknown): SequencePosition {
  const o = v as Record<string, unknown> | null;
  if (
    o === null ||
    typeof o !== 'object' ||
    typeof o['lastValue'] !== 'string' ||
    !/^-?\d{1,20}$/.test(o['lastValue']) ||
    typeof o['isCalled'] !== 'boolean'
  )
    throw archiveInvalid('a sequence position is malformed');
  return { name: checkName(o['name'], 'sequence'), lastValue: o['lastValue'], isCalled: o['isCalled'] };
}

function checkHeader(o: Record<string, unknown>): ArchiveHeader {
  if (o['format'] !== 1) throw archiveInvalid(`format ${JSON.stringify(o['format'])} is not one this Tenantry reads (1)`);
  const tenant = o['tenant'] as Record<string, unknown> | undefined;
  if (!tenant || typeof tenant['id'] !== 'string' || typeof tenant['slug'] !== 'string' || typeof tenant['name'] !== 'string')
    throw archiveInvalid('the header has no tenant');
  if (o['tier'] !== 'schema' && o['tier'] !== 'database') throw archiveInvalid('the header has no tier');
  if (!Array.isArray(o['ledger']) || !Array.isArray(o['tables'])) throw archiveInvalid('the header has no ledger or tables');
  for (const m of o['ledger'] as unknown[]) {
    const mm = m as Record<string, unknown> | null;
    if (!mm || typeof mm['name'] !== 'string' || typeof mm['checksum'] !== 'string') throw archiveInvalid('a ledger entry is malformed');
  }
  for (const t of o['tables'] as unknown[]) {
    const tt = t as Record<string, unknown> | null;
    if (!tt || !Array.isArray(tt['columns'])) throw archiveInvalid('a table entry is malformed');
    checkName(tt['name'], 'table');
    for (const c of tt['columns'] as unknown[]) {
      const cc = c as Record<string, unknown> | null;
      if (!cc || typeof cc['type'] !== 'string') throw archiveInvalid('a column entry is malformed');
      checkName(cc['name'], 'column');
    }
  }
  return o as unknown as ArchiveHeader;
}
