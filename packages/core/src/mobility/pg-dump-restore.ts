/**
 * Restore of a `pg_dump --format=custom` archive of one tenant (pg-dump.ts writes them), in
 * three parts:
 *
 * 1. The archive is checked (a file, pg_dump's custom-format signature, `pg_restore --list`
 *    reads its table of contents) and loaded by the pg_restore of the TARGET server's major
 *    version into a scratch database on that server, `tenantry_pgrestore_<job>`, made by
 *    Tenantry (`--no-owner --no-privileges --exit-on-error --single-transaction`).
 * 2. The scratch copy is checked: exactly one schema holding a Tenantry migration ledger
 *    (`t_<id>` for a schema tenant's dump, `public` for a database tenant's), whose migrations
 *    this process has with the same checksums, and whose catalog is what those migrations make
 *    (catalog.ts: the comparison backups and moves make for drift; `CATALOG_DRIFTED` names the
 *    differences).
 * 3. The scratch copy is streamed as a Tenantry archive (header, binary COPY of every table,
 *    sequences, a manifest with rows and sha256 per table and a data checksum) into the same
 *    staging-copy load as any other restore (restore.ts), which verifies every byte against
 *    that manifest before the copy is recorded anywhere.
 *
 * The scratch database is dropped when the restore ends, whatever the outcome. While it exists
 * its job holds a session advisory lock in the server's own database; `reconcile()` drops the
 * scratch databases whose lock is free (their process stopped): {@link dropAbandonedScratch}.
 *
 * pg_restore runs as a child process with an argument array (no shell) and the password in its
 * environment, never on its command line. An archive is SQL that pg_restore runs: when the
 * server URL's user may create roles, pg_restore logs in as a role made for the job (same name
 * as the scratch database; LOGIN, no other attribute, a random password, dropped with the
 * database), which owns nothing outside the scratch database and can do no more than create
 * objects there. Otherwise it runs as the server URL's user, and a warning says so.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, constants, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ServerTarget } from '../connection-router.js';
import { ErrorCodes, invalidArgument, TenantryError } from '../errors.js';
import { assertIdent, quoteIdent, quoteLiteral } from '../identifiers.js';
import type { TenancyInternals } from '../internals.js';
import type { Migration } from '../migrations/migration-source.js';
import { pinnedMigrations } from '../migrations/migration-set.js';
import { LEDGER_TABLE, readLedgerIn, type AppliedMigration } from '../migrations/tenant-ledger.js';
import type { PooledClient } from '../server-pool.js';
import { canCreateRoles, createLoginRole, dropTenantRole } from '../tenant-roles.js';
import { inTransaction } from '../transaction.js';
import type { ActorOptions, IsolationKind } from '../types.js';
import { ARCHIVE_MAGIC, ArchiveReader, ArchiveWriter, type ArchiveHeader, type ArchiveManifest } from './archive-format.js';
import { pipeArchive, writeArchive, type MobilityProgress } from './backup.js';
import { catalogDrift, dataTables, describeCatalog, referenceCatalog } from './catalog.js';
import { migrationsForLedger } from './ledger-migrations.js';
import { findPgTools, runProgram } from './pg-dump.js';
import type { MobilityStep } from './restore.js';

/** The scratch databases' prefix: `tenantry_pgrestore_<32 hex>`. */
export const SCRATCH_PREFIX = 'tenantry_pgrestore_';

/** Points of a pg_dump restore: the scratch database's, then those of every restore. */
export type PgDumpRestoreStep = 'scratch-created' | 'scratch-loaded' | 'scratch-dropped' | MobilityStep;

/** Options of {@link Mobility.restorePgDump} and {@link Mobility.restorePgDumpInPlace}. */
export interface PgDumpRestoreOptions extends ActorOptions {
  /** Called at each step (logs, crash tests). */
  readonly onStep?: (step: PgDumpRestoreStep) => void | Promise<void>;
  /** Called after each table loaded into the tenant's new copy. */
  readonly onProgress?: (progress: MobilityProgress) => void;
}

/** What the dump held, as found in the scratch database. */
export interface PgDumpSource {
  /** The file pg_restore read (a temporary copy when the dump came as a stream). */
  readonly file: string;
  /** The dumped tenant's tier: `schema` when its objects are in a schema of their own, `database` when in `public`. */
  readonly tier: IsolationKind;
  /** The dumped tenant's schema or database name, and its id when that name is Tenantry's `t_<id>`. */
  readonly physicalName: string;
  readonly tenantId: string | null;
  /** "Dumped from database version" and "Dumped by pg_dump version" of the archive. */
  readonly dumpedFrom: string | null;
  readonly dumpedBy: string | null;
  /** The pg_restore that loaded it, and the target server's major version. */
  readonly pgRestore: string;
  readonly serverMajor: number;
  /** The dump's own migration ledger, and this process's migrations that make its schema. */
  readonly ledger: readonly AppliedMigration[];
  readonly migrations: readonly Migration[];
}

function pgDumpInvalid(message: string, cause?: unknown): TenantryError {
  return new TenantryError(ErrorCodes.ARCHIVE_INVALID, `not a usable pg_dump archive: ${message}`, cause === undefined ? {} : { cause });
}

/** pg_restore's complaint, shortened and without its program-name prefix. */
function complaint(stderr: string): string {
  return stderr
    .trim()
    .split('\n')
    .map((l) => l.replace(/^pg_restore: /, ''))
    .filter((l) => l !== '')
    .slice(0, 6)
    .join('; ')
    .slice(0, 600);
}

/**
 * Checks that `file` is a pg_dump custom-format archive by its first bytes: a Tenantry archive,
 * a plain SQL dump, a tar or directory dump are refused, each saying what to do instead.
 */
async function checkSignature(file: string): Promise<void> {
  const found = await stat(file).catch(() => undefined);
  if (found === undefined) throw pgDumpInvalid(`there is no file '${file}'`);
  if (found.isDirectory())
    throw pgDumpInvalid(`'${file}' is a directory (a --format=directory dump?); give a file made by pg_dump --format=custom`);
  if (!found.isFile()) throw pgDumpInvalid(`'${file}' is not a regular file`);
  const handle = await open(file, 'r');
  const head = Buffer.alloc(512);
  let length: number;
  try {
    ({ bytesRead: length } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  const start = head.subarray(0, length);
  if (start.subarray(0, ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC))
    throw pgDumpInvalid(`'${file}' is a Tenantry archive; restore it with tenancy.mobility.restore (CLI: without --format pg_dump)`);
  if (length >= 262 && start.subarray(257, 262).toString('latin1') === 'ustar')
    throw pgDumpInvalid(`'${file}' is a tar archive (pg_dump --format=tar?); Tenantry restores --format=custom dumps`);
  if (start.subarray(0, 5).toString('latin1') !== 'PGDMP') {
    const text = start.toString('utf8');
    if (/^(--|SET |CREATE |\\connect)/m.test(text))
      throw pgDumpInvalid(
        `'${file}' is a plain SQL dump, which cannot be checked before it runs; make it with pg_dump --format=custom (tenancy.mobility.pgDump does)`,
      );
    throw pgDumpInvalid(`'${file}' does not start with pg_dump's custom-format signature (PGDMP)`);
  }
  // PGDMP, version (3 bytes), int size, offset size, format (1 = custom).
  if (length < 11 || start[10] !== 1) throw pgDumpInvalid(`'${file}' is a pg_dump archive but not of the custom format`);
}

/**
 * The dump as a file pg_restore can read: `input` itself (a path: a non-empty string without
 * NUL, resolved), or a stream written to a private temporary file first (pg_restore reads the
 * archive twice: its table of contents, then the data). `cleanup` removes the temporary file.
 */
export async function pgDumpFile(input: unknown): Promise<{ file: string; cleanup: () => Promise<void> }> {
  if (typeof input === 'string') {
    if (input.trim() === '' || input.includes('\0') || input.length > 4096)
      throw invalidArgument('the pg_dump archive must be a path (a non-empty string without NUL bytes) or a readable stream');
    const file = isAbsolute(input) ? input : resolve(input);
    await checkSignature(file);
    return { file, cleanup: async () => undefined };
  }
  if (input === null || typeof input !== 'object' || typeof (input as Readable)[Symbol.asyncIterator] !== 'function')
    throw invalidArgument('the pg_dump archive must be a path or a readable stream');
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-pgrestore-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'archive.dump');
    await pipeline(input as Readable, createWriteStream(file, { mode: 0o600 }));
    await checkSignature(file);
    return { file, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The pg_restore of `major`, or `INVALID_ARGUMENT` naming the package to install. */
async function pgRestoreOf(major: number, server: string): Promise<string> {
  const tools = await findPgTools(major);
  const usable =
    tools !== undefined &&
    (await access(tools.pgRestore, constants.X_OK).then(
      () => true,
      () => false,
    ));
  if (!usable)
    throw invalidArgument(
      `no pg_restore ${major} is installed for server '${server}' (PostgreSQL ${major}); install postgresql-client-${major} or point TENANTRY_PG_BIN at its bin folder, or restore a Tenantry archive (tenancy.mobility.restore)`,
      { context: { server } },
    );
  return tools.pgRestore;
}

/** The advisory lock a live restore holds while its scratch database exists (in the server's own database). */
function scratchLockKey(database: string): string {
  return `tenantry.pgrestore:${database}`;
}

/** The marker comment of this registry's scratch databases. */
function scratchMarker(d: TenancyInternals): string {
  return `${d.marker}:pg_restore`;
}

/**
 * A pg_dump archive loaded into a scratch database on `server` and checked. Use {@link stream}
 * to read it as a Tenantry archive, and always {@link drop} it.
 */
export class PgDumpScratch {
  readonly #d: TenancyInternals;
  readonly #server: string;
  readonly #database: string;
  #lock: PooledClient | undefined;
  /** The job's login role and its password, when the server's user may create roles. */
  #role: { name: string; password: string } | undefined;
  #schema = '';
  #source: PgDumpSource | undefined;

  private constructor(d: TenancyInternals, server: string) {
    this.#d = d;
    this.#server = server;
    this.#database = assertIdent(`${SCRATCH_PREFIX}${randomBytes(16).toString('hex')}`);
  }

  /** The scratch database's name. */
  get database(): string {
    return this.#database;
  }

  /** What the dump held (after {@link open}). */
  get source(): PgDumpSource {
    return this.#source!;
  }

  /**
   * Checks `file` with `pg_restore --list`, makes the scratch database, loads the dump into it
   * and checks it. On any failure the scratch database is dropped before this throws.
   */
  static async open(
    d: TenancyInternals,
    lookup: (server: string) => Promise<ServerTarget | undefined>,
    server: string,
    file: string,
    step: (s: PgDumpRestoreStep) => Promise<void>,
  ): Promise<PgDumpScratch> {
    const admin = await d.router.admin(server);
    const { rows } = await admin.query<{ v: number }>(`select current_setting('server_version_num')::int as v`);
    const major = Math.floor(rows[0]!.v / 10000);
    const pgRestore = await pgRestoreOf(major, server);
    const env = { PATH: process.env['PATH'] ?? '' };
    const list = await runProgram(pgRestore, ['--list', file], env);
    if (list.code !== 0) {
      const why = complaint(list.stderr);
      const newer = /unsupported version/i.test(why)
        ? ` (made by a pg_dump newer than pg_restore ${major}: restore it on a server of that major version, or dump it again with pg_dump ${major})`
        : '';
      throw pgDumpInvalid(`pg_restore ${major} cannot read it: ${why}${newer}`);
    }
    const version = (label: string): string | null => new RegExp(`^;\\s+${label}:\\s+(\\S+)`, 'm').exec(list.stdout)?.[1] ?? null;
    const target = await lookup(server);
    if (!target) throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${server}'`, { context: { server } });

    const scratch = new PgDumpScratch(d, server);
    try {
      await scratch.#create();
      await step('scratch-created');
      const url = new URL(target.url);
      let password = decodeURIComponent(url.password);
      const role = scratch.#role;
      if (role !== undefined) {
        url.username = encodeURIComponent(role.name);
        password = role.password;
      }
      url.password = '';
      url.pathname = `/${scratch.#database}`;
      const restored = await runProgram(
        pgRestore,
        ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${url.toString()}`, file],
        { ...env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      );
      if (restored.code !== 0 && /connection to server .* failed|no pg_hba\.conf entry|authentication failed/i.test(restored.stderr))
        throw new TenantryError(
          ErrorCodes.SERVER_UNAVAILABLE,
          `pg_restore could not log in to server '${server}'${role === undefined ? '' : ` as the job's role ${role.name}`}: ${complaint(restored.stderr)}${role === undefined ? '' : `; allow password logins of roles named ${SCRATCH_PREFIX}* to their own database (pg_hba.conf), as strict tenants' roles need`}`,
          { context: { server } },
        );
      if (restored.code !== 0)
        throw pgDumpInvalid(`pg_restore ${major} could not load it (exit ${restored.code}): ${complaint(restored.stderr)}`);
      await step('scratch-loaded');
      await scratch.#check(file, {
        dumpedFrom: version('Dumped from database version'),
        dumpedBy: version('Dumped by pg_dump version'),
        pgRestore,
        serverMajor: major,
      });
      return scratch;
    } catch (err) {
      await scratch.drop();
      throw err;
    }
  }

  /**
   * Takes the job's lock, then makes the job's role (when the server's user may) and the
   * scratch database, marked as this registry's, where the role may create schemas and objects
   * in `public`. The server's user is made a member of the role, to read what pg_restore makes.
   */
  async #create(): Promise<void> {
    const admin = await this.#d.router.admin(this.#server);
    const lock = (this.#lock = await admin.connect());
    const db = quoteIdent(this.#database);
    await lock.query('select pg_advisory_lock(hashtextextended($1, 0))', [scratchLockKey(this.#database)]);
    if (await canCreateRoles(lock)) {
      const role = { name: this.#database, password: randomBytes(24).toString('hex') };
      await createLoginRole(lock, role.name, role.password);
      this.#role = role;
      await lock.query(`grant ${quoteIdent(role.name)} to current_user`);
    } else
      this.#d.logger.warn(
        { server: this.#server },
        "pg_restore runs as the server's user: it may not create roles (CREATEROLE), so the archive's SQL is not confined to a role of its own",
      );
    await lock.query(`create database ${db}`);
    await lock.query(`comment on database ${db} is ${quoteLiteral(scratchMarker(this.#d))}`);
    if (this.#role !== undefined) {
      const role = quoteIdent(this.#role.name);
      await lock.query(`grant connect, create, temporary on database ${db} to ${role}`);
      const client = await this.#connect();
      try {
        await client.query(`grant usage, create on schema public to ${role}`);
      } finally {
        client.release();
      }
    }
  }

  /**
   * Makes the rest of the transaction run as the job's role, if there is one: functions and
   * operators the dump made (which name resolution may pick over the built-in ones) then run
   * with its privileges, not the server user's.
   */
  async #confine(client: PooledClient): Promise<void> {
    if (this.#role !== undefined) await client.query(`set local role ${quoteIdent(this.#role.name)}`);
  }

  async #connect(): Promise<PooledClient> {
    return await this.#d.router.connect({ server: this.#server, database: this.#database });
  }

  /** Finds the tenant's schema, its ledger and migrations, and compares its catalog with what they make. */
  async #check(file: string, facts: Pick<PgDumpSource, 'dumpedFrom' | 'dumpedBy' | 'pgRestore' | 'serverMajor'>): Promise<void> {
    const source = await pinnedMigrations(this.#d.migrations);
    await inTransaction(
      () => this.#connect(),
      async (client) => {
        await this.#confine(client);
        const { rows: schemas } = await client.query<{ name: string; ledger: boolean }>(
          `select n.nspname as name, exists (select 1 from pg_class c where c.relnamespace = n.oid and c.relname = $1 and c.relkind = 'r') as ledger
             from pg_namespace n
            where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
              and (exists (select 1 from pg_class c where c.relnamespace = n.oid)
                   or exists (select 1 from pg_type t where t.typnamespace = n.oid)
                   or exists (select 1 from pg_proc p where p.pronamespace = n.oid))
            order by 1`,
          [LEDGER_TABLE],
        );
        const withLedger = schemas.filter((s) => s.ledger);
        if (withLedger.length === 0)
          throw pgDumpInvalid(
            `it holds no Tenantry migration ledger (${LEDGER_TABLE}): it is not a dump of a Tenantry tenant${schemas.length > 0 ? ` (schemas: ${schemas.map((s) => s.name).join(', ')})` : ''}`,
          );
        if (schemas.length > 1)
          throw pgDumpInvalid(`it holds more than one schema (${schemas.map((s) => s.name).join(', ')}); a tenant's dump holds one`);
        const schema = withLedger[0]!.name;
        this.#schema = schema;
        const ledger = (await readLedgerIn(client, schema)) ?? [];
        let migrations: Migration[];
        try {
          migrations = migrationsForLedger(ledger, source, `the pg_dump archive '${file}'`);
        } catch (err) {
          throw pgDumpInvalid(err instanceof Error ? err.message : String(err), err);
        }
        await client.query(`set local search_path to ${quoteIdent(schema)}, pg_temp`);
        const actual = await describeCatalog(client, schema);
        const reference = await referenceCatalog(client, migrations, null);
        const drift = catalogDrift(actual, reference);
        if (drift.length > 0) {
          const shown = drift.slice(0, 20).join('; ');
          throw new TenantryError(
            ErrorCodes.CATALOG_DRIFTED,
            `the pg_dump archive '${file}' holds a schema that is not what its migrations make (${drift.length} difference${drift.length === 1 ? '' : 's'}: ${shown}${drift.length > 20 ? '; …' : ''}); fix the tenant (a migration for the change, or undo it) and dump it again`,
            { context: { server: this.#server } },
          );
        }
        const id = /^t_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/.exec(schema);
        this.#source = {
          file,
          tier: schema === 'public' ? 'database' : 'schema',
          physicalName: schema,
          tenantId: id ? id.slice(1).join('-') : null,
          ...facts,
          ledger,
          migrations,
        };
      },
    );
  }

  /**
   * Writes the scratch copy to `out` as a Tenantry archive (in one snapshot): what a backup of a
   * tenant writes, with `tenant` as the archived tenant. `out` is not ended. Returns the manifest.
   */
  async write(out: Writable, tenant: ArchiveHeader['tenant']): Promise<ArchiveManifest> {
    const writer = new ArchiveWriter(out);
    const schema = this.#schema;
    const source = this.#source!;
    return await inTransaction(
      () => this.#connect(),
      async (client) => {
        const { rows } = await client.query<{ version: number }>(`select current_setting('server_version_num')::int as version`);
        const tables = await dataTables(client, schema);
        const header: ArchiveHeader = {
          format: 1,
          tenant,
          tier: source.tier,
          server: this.#server,
          serverVersion: rows[0]!.version,
          ledger: source.ledger.map((l) => ({ name: l.name, checksum: l.checksum, appliedAt: l.appliedAt.toISOString() })),
          tables,
          createdAt: new Date().toISOString(),
        };
        return await writeArchive(writer, client, schema, header);
      },
      {
        enter: async (client) => {
          await client.query('set transaction isolation level repeatable read, read only');
          await this.#confine(client);
          // Types print as a tenant's own connection prints them (unqualified): the archive's header compares them.
          await client.query(`set local search_path to ${quoteIdent(schema)}, pg_temp`);
        },
      },
    );
  }

  /**
   * The scratch copy as a Tenantry archive streamed through a pipe into `consume` (no file in
   * between); either failing stops both.
   */
  async piped<T>(tenant: ArchiveHeader['tenant'], consume: (reader: ArchiveReader) => Promise<T>): Promise<T> {
    return await pipeArchive((out) => this.write(out, tenant), consume);
  }

  /** Drops the scratch database and lets go of the job's lock. Never throws (logs instead). */
  async drop(): Promise<void> {
    const lock = this.#lock;
    if (lock === undefined) return;
    this.#lock = undefined;
    let broken = false;
    try {
      await this.#d.router.closeDatabase(this.#server, this.#database);
      await lock.query(`drop database if exists ${quoteIdent(this.#database)} with (force)`);
      if (this.#role !== undefined) await dropTenantRole(lock, this.#role.name);
      await lock.query('select pg_advisory_unlock(hashtextextended($1, 0))', [scratchLockKey(this.#database)]);
    } catch (err) {
      // Closing the connection lets go of the lock: reconcile() drops what is left.
      broken = true;
      this.#d.logger.error({ err, server: this.#server, database: this.#database }, 'could not drop a pg_restore scratch database');
    } finally {
      lock.release(broken ? new Error('scratch database not dropped') : false);
      await this.#d.router.reopenDatabase(this.#server, this.#database).catch(() => undefined);
    }
  }
}

/**
 * For `reconcile()`: drops this registry's scratch databases (and unmarked ones), and the jobs'
 * roles, whose restore stopped — their job's lock is free — on every server but those in `skip`
 * (found unreachable already). Returns what it dropped, as `server/name`.
 */
export async function dropAbandonedScratch(d: TenancyInternals, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  const dropped: string[] = [];
  for (const server of await d.serverRegistry.list()) {
    if (skip.has(server.id)) continue;
    try {
      const client = await (await d.router.admin(server.id)).connect();
      let broken = false;
      try {
        const { rows } = await client.query<{ name: string }>(
          `select datname as name from pg_database
            where starts_with(datname, $1) and coalesce(shobj_description(oid, 'pg_database'), $2) = $2
           union
           select rolname from pg_roles where starts_with(rolname, $1)
           order by 1`,
          [SCRATCH_PREFIX, scratchMarker(d)],
        );
        for (const { name } of rows) {
          const key = scratchLockKey(name);
          const { rows: got } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [key]);
          if (!got[0]!.ok) continue;
          try {
            await client.query(`drop database if exists ${quoteIdent(assertIdent(name))} with (force)`);
            await dropTenantRole(client, name);
            dropped.push(`${server.id}/${name}`);
          } finally {
            await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
          }
        }
      } catch (err) {
        broken = true;
        throw err;
      } finally {
        client.release(broken);
      }
    } catch (err) {
      d.logger.error({ err, server: server.id }, 'reconcile could not drop abandoned pg_restore scratch databases');
    }
  }
  if (dropped.length > 0) d.logger.warn({ dropped }, 'scratch databases of interrupted pg_dump restores dropped');
  return dropped;
}
