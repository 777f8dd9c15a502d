/**
 * `tenancy.mobility`: backup, restore, clone and move of one tenant (docs/mobility.md). Every
 * operation that writes is built from the same three parts: a staging copy registered
 * PROVISIONING (so that `reconcile()` drops it if the process stops), the archive loaded into it
 * and verified (restore.ts), and one registry transaction that makes the copy the tenant
 * (mobility-registry.ts). A clone and a move stream a backup straight into the restore, without
 * a file in between.
 */
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, invalidArgument, tenantNotFound, TenantryError } from '../errors.js';
import { assertSlug, parseTenantRef, physicalNameFor } from '../identifiers.js';
import type { TenancyInternals } from '../internals.js';
import { lifecycleLockKey } from '../lifecycle-lock.js';
import { pinnedMigrations } from '../migrations/migration-set.js';
import type { Queryable } from '../registry/tenant-registry.js';
import { checkText } from '../tenant-input.js';
import { inTenantTransaction, inTransaction } from '../transaction.js';
import type { ActorOptions, IsolationKind, Tenant, TenantStatus } from '../types.js';
import { archiveInvalid, ArchiveReader, type ArchiveHeader, type ArchiveManifest } from './archive-format.js';
import { assertReadable, backupTenant, pipeArchive, type BackupOptions, type MobilityProgress } from './backup.js';
import { migrationsForLedger } from './ledger-migrations.js';
import {
  expiredCopies,
  finishJob,
  insertJob,
  logActivity,
  setCutoverGate,
  setJobDetail,
  setJobStaging,
  stagingTarget,
  switchPlacement,
  type MobilityJobKind,
} from './mobility-registry.js';
import { openLocalGate, cutoverDeadline } from './cutover-gate.js';
import {
  cancelLockWaiters,
  closeOldCopy,
  onSide,
  publish,
  renameSchema,
  replicationNames,
  subscribe,
  syncSequences,
  tablesWithoutIdentity,
  unpublish,
  unsubscribe,
  waitCaughtUp,
  sourcePosition,
  waitFlushed,
  whyNotOnline,
  type OnlineReplication,
} from './online-move.js';
import { assertNoDrift } from './backup.js';
import { readLedgerIn } from '../migrations/tenant-ledger.js';
import type { PooledClient } from '../server-pool.js';
import { checkDrainOptions, drainServer, type DrainOptions, type DrainResult } from './drain.js';
import { checkOutputPath, pgDumpTenant, type PgDumpResult } from './pg-dump.js';
import { pgDumpFile, PgDumpScratch, type PgDumpRestoreOptions, type PgDumpRestoreStep, type PgDumpSource } from './pg-dump-restore.js';
import { loadArchive, orderedKeysOf, provisionAndLoad, type MobilityStep } from './restore.js';
import type { ServerTarget } from '../connection-router.js';

export type { MobilityStep } from './restore.js';
export type { MobilityProgress, BackupOptions } from './backup.js';
export type { ArchiveManifest, ArchiveHeader } from './archive-format.js';
export type { PgDumpResult } from './pg-dump.js';
export type { PgDumpRestoreOptions, PgDumpRestoreStep } from './pg-dump-restore.js';
export type { DrainOptions, DrainProgress, DrainResult, DrainTenantResult } from './drain.js';

/** Where a restored or cloned tenant goes. */
export interface NewTenantTarget {
  /** The new tenant's slug. */
  readonly slug: string;
  /** Display name; default: the archived tenant's. */
  readonly name?: string;
  /** Server id; default: the least-loaded server with room. */
  readonly server?: string;
  /** Tier; default: the archived tenant's. */
  readonly isolation?: IsolationKind;
}

/** Options of the operations that write. */
export interface MobilityOptions extends ActorOptions {
  /** Called at each step (logs, crash tests). */
  readonly onStep?: (step: MobilityStep) => void | Promise<void>;
  /** Called after each table. */
  readonly onProgress?: (progress: MobilityProgress) => void;
}

/** Where a move goes. At least one differs from the tenant's placement. */
export interface MoveTarget {
  /** Server id; default: the tenant's. */
  readonly server?: string;
  /** Tier; default: the tenant's. */
  readonly isolation?: IsolationKind;
  /** How long the old copy is kept (suspended) before `purgeMoved()` drops it. Default 7 days; 0 drops it at once. */
  readonly retainHours?: number;
  /**
   * `'auto'` (the default): online by logical replication when the source allows it
   * (`wal_level = logical`, superuser logins, the tenant's own role, every table with a replica
   * identity, not database → schema), else offline (`offlineReason` says why). `true`: online or
   * fail (`INVALID_ARGUMENT` saying why not). `false`: offline (suspended while its data is copied).
   */
  readonly online?: boolean | 'auto';
  /**
   * Online moves: the longest the cutover may last, in ms (default 5000, 100 to 60000). New
   * units of work for the tenant wait at most this long; a cutover that cannot finish in it is
   * undone and the tenant stays where it was.
   */
  readonly cutoverTimeoutMs?: number;
}

/** What a move did. */
export interface MoveResult {
  readonly tenant: Tenant;
  readonly from: { readonly server: string; readonly isolation: IsolationKind };
  /** The id of the registry row that keeps the old copy until `retainUntil`; null when it was dropped. */
  readonly oldCopy: string | null;
  readonly retainUntil: Date | null;
  /** Whether the move was online (logical replication; new work waited during the cutover) or offline (the tenant was suspended). */
  readonly online: boolean;
  /** Why an `online: 'auto'` move was offline; undefined for an online one. */
  readonly offlineReason?: string;
  /** Offline: how long the tenant was suspended; online: how long the cutover held new work, in ms. */
  readonly pauseMs: number;
  readonly durationMs: number;
  /** The archive's manifest of an offline move; null for an online one (no archive is made). */
  readonly manifest: ArchiveManifest | null;
}

/** How long an online move's cutover lets other processes hear that the gate closed before it waits for writers. */
const GATE_GRACE_MS = 30;

/** How long an online move's initial copy and catch-up may take before it is undone. */
const CATCH_UP_MS = 30 * 60_000;

interface PreparedOnline {
  readonly tables: string[];
  readonly schema: string;
  readonly ledger: Awaited<ReturnType<typeof readLedgerIn>>;
  readonly noIdentity: string[];
}

const SERVER_ID = /^[a-z][a-z0-9-]{0,62}$/;

/** The operations {@link Mobility.stats} counts. */
export type MobilityOperation = 'backup' | 'restore' | 'clone' | 'move';

/** Running totals of this process's mobility operations by outcome, since start (for metrics). */
export type MobilityStats = Readonly<Record<MobilityOperation, Readonly<{ ok: number; failed: number }>>>;

/** Backup, restore, clone and move of one tenant. Reached as `tenancy.mobility`. */
export class Mobility {
  readonly #d: TenancyInternals;

  readonly #lookup: (server: string) => Promise<ServerTarget | undefined>;

  readonly #stats: Record<MobilityOperation, { ok: number; failed: number }> = {
    backup: { ok: 0, failed: 0 },
    restore: { ok: 0, failed: 0 },
    clone: { ok: 0, failed: 0 },
    move: { ok: 0, failed: 0 },
  };

  /** @internal created by `createTenancy()`. */
  constructor(internals: TenancyInternals, lookup: (server: string) => Promise<ServerTarget | undefined>) {
    this.#d = internals;
    this.#lookup = lookup;
  }

  /**
   * Writes a `pg_dump --format=custom` archive of just the tenant's schema (or database) to
   * `file`, with the pg_dump of the server's major version (`INVALID_ARGUMENT` naming the
   * package to install when there is none). For PostgreSQL's own tools; Tenantry restores its
   * own archive ({@link Mobility.backup}).
   *
   * @example
   * ```ts
   * const { bytes } = await tenancy.mobility.pgDump('acme', '/backups/acme.dump');
   * ```
   */
  async pgDump(tenant: string, file: string, options: { readonly overwrite?: boolean } = {}): Promise<PgDumpResult> {
    const current = await this.#get(tenant);
    assertReadable(current, 'dump');
    const path = await checkOutputPath(file, options.overwrite === true);
    return await pgDumpTenant(this.#d, this.#lookup, current, path);
  }

  /**
   * Writes a tenant's archive to `out`: its data in one snapshot (binary COPY per table), its
   * sequences, and a manifest (tenant, tier, migration ledger with checksums, server version,
   * rows and sha256 per table, a data checksum). `out` is not ended. Refuses a tenant whose
   * catalog drifted from its migrations (`CATALOG_DRIFTED`). The tenant keeps serving meanwhile.
   *
   * @example
   * ```ts
   * const file = createWriteStream('acme.tenantry');
   * const manifest = await tenancy.mobility.backup('acme', file);
   * file.end();
   * ```
   */
  async backup(tenant: string, out: Writable, options: BackupOptions = {}): Promise<ArchiveManifest> {
    if (out === null || typeof out !== 'object' || typeof (out as Writable).write !== 'function')
      throw invalidArgument('backup(tenant, out) needs a writable stream');
    return await this.#counted('backup', async () => await backupTenant(this.#d, await this.#get(tenant), out, options));
  }

  /**
   * How many backups, restores (new and in place), clones and moves (drains' included) this
   * process finished since it started, by outcome. `failed` counts every call that threw,
   * refused input included. No tenant is named: for metrics (`@tenantry/nestjs`'s
   * `tenantry_mobility_operations_total`).
   */
  stats(): MobilityStats {
    const copy = (k: MobilityOperation): { ok: number; failed: number } => ({ ...this.#stats[k] });
    return { backup: copy('backup'), restore: copy('restore'), clone: copy('clone'), move: copy('move') };
  }

  /**
   * Restores an archive into a NEW tenant (`target.slug`), on any server and tier: its schema
   * made by the archive's migrations (which this process must have, same checksums), its data
   * loaded and verified against the manifest before the tenant becomes ACTIVE. A restore cut
   * short leaves nothing: `reconcile()` drops the unfinished copy.
   *
   * @example
   * ```ts
   * const copy = await tenancy.mobility.restore(createReadStream('acme.tenantry'), { slug: 'acme-restored' });
   * ```
   */
  async restore(input: Readable, target: NewTenantTarget, options: MobilityOptions = {}): Promise<Tenant> {
    return await this.#counted('restore', async () => await this.#restore(input, target, options));
  }

  async #restore(input: Readable, target: NewTenantTarget, options: MobilityOptions): Promise<Tenant> {
    const checked = await this.#checkNewTarget(target);
    const reader = this.#reader(input);
    const header = await this.#header(reader);
    return await this.#restoreNew(reader, header, checked, 'restored', options);
  }

  /**
   * Restores an archive over an existing tenant, which keeps its id, slug and domains. The
   * tenant is SUSPENDED meanwhile; its old copy stays the one in service until the new one is
   * loaded and verified, then one registry transaction switches to it and the old copy is
   * dropped. Cut short, `reconcile()` drops the new copy and resumes the tenant on its old one.
   */
  async restoreInPlace(tenant: string, input: Readable, options: MobilityOptions = {}): Promise<Tenant> {
    return await this.#counted('restore', async () => await this.#restoreInPlace(tenant, input, options));
  }

  async #restoreInPlace(tenant: string, input: Readable, options: MobilityOptions): Promise<Tenant> {
    const current = await this.#get(tenant);
    const reader = this.#reader(input);
    const header = await this.#header(reader);
    const result = await this.#replace(
      current,
      'restore',
      { server: current.server, isolation: current.isolation, retainHours: 0 },
      reader,
      header,
      options,
    );
    return result.tenant;
  }

  /**
   * Restores a `pg_dump --format=custom` archive of one tenant ({@link Mobility.pgDump} writes
   * them) into a NEW tenant (`target.slug`; name default: the slug; tier default: the dumped
   * tenant's). The archive (a path, or a stream, spooled to a temporary file) is loaded by the
   * pg_restore of the target server's major version into a scratch database on that server,
   * whose schema must be what the dump's own migration ledger makes (`CATALOG_DRIFTED` names
   * the differences); then its data goes through the same verified staging copy as
   * {@link Mobility.restore}. The scratch database is always dropped (by `reconcile()` after a
   * kill). Refused archives: `ARCHIVE_INVALID`; no pg_restore of the server's version:
   * `INVALID_ARGUMENT` naming the package. pg_restore runs the archive's SQL as a login role made
   * for the job when the server's user may create roles, else as that user (docs/mobility.md).
   *
   * @example
   * ```ts
   * const copy = await tenancy.mobility.restorePgDump('/backups/acme.dump', { slug: 'acme-restored' });
   * ```
   */
  async restorePgDump(input: string | Readable, target: NewTenantTarget, options: PgDumpRestoreOptions = {}): Promise<Tenant> {
    return await this.#counted('restore', async () => {
      const checked = await this.#checkNewTarget(target);
      const taken = await this.#d.registry.findTenant({ kind: 'slug', value: checked.slug });
      if (taken && taken.status !== 'DELETED')
        throw new TenantryError(ErrorCodes.TENANT_EXISTS, `a tenant with slug '${checked.slug}' already exists`, {
          context: { tenant: checked.slug },
        });
      return await this.#withPgDump(input, checked.server, options, async (scratch, detail) => {
        const name = checked.name ?? checked.slug;
        const tenant = { id: scratch.source.tenantId ?? '', slug: checked.slug, name, plan: null, metadata: {} };
        return await scratch.piped(tenant, async (reader) => {
          const header = await this.#header(reader);
          return await this.#restoreNew(reader, header, { ...checked, name }, 'restored', options, detail);
        });
      });
    });
  }

  /**
   * Restores a `pg_dump --format=custom` archive over an existing tenant, as
   * {@link Mobility.restoreInPlace} does with Tenantry's archive: checked in a scratch database
   * first (the tenant keeps serving meanwhile), then the tenant is SUSPENDED while its new copy
   * is loaded and verified, and one registry transaction switches to it. Cut short,
   * `reconcile()` drops the new copy and the scratch database and resumes the tenant on its
   * old copy.
   *
   * @example
   * ```ts
   * await tenancy.mobility.restorePgDumpInPlace('acme', '/backups/acme.dump');
   * ```
   */
  async restorePgDumpInPlace(tenant: string, input: string | Readable, options: PgDumpRestoreOptions = {}): Promise<Tenant> {
    return await this.#counted('restore', async () => {
      const current = await this.#get(tenant);
      if (current.status !== 'ACTIVE' && current.status !== 'SUSPENDED')
        throw new TenantryError(ErrorCodes.TENANT_NOT_READY, `cannot restore tenant '${current.slug}': it is ${current.status}`, {
          context: { tenant: current.slug },
        });
      return await this.#withPgDump(input, current.server, options, async (scratch, detail) => {
        const archived = { id: scratch.source.tenantId ?? '', slug: current.slug, name: current.name, plan: null, metadata: {} };
        return await scratch.piped(archived, async (reader) => {
          const header = await this.#header(reader);
          const target = { server: current.server, isolation: current.isolation, retainHours: 0 };
          return (await this.#replace(current, 'restore', target, reader, header, options, detail)).tenant;
        });
      });
    });
  }

  /** A pg_dump archive in a scratch database on `server`, checked, for `fn`; always dropped after. */
  async #withPgDump<T>(
    input: string | Readable,
    server: string,
    options: PgDumpRestoreOptions,
    fn: (scratch: PgDumpScratch, detail: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    const step = async (s: PgDumpRestoreStep): Promise<void> => {
      this.#d.logger.debug({ server, step: s }, 'pg_dump restore step');
      await options.onStep?.(s);
    };
    const { file, cleanup } = await pgDumpFile(input);
    try {
      const scratch = await PgDumpScratch.open(this.#d, this.#lookup, server, file, step);
      try {
        const s: PgDumpSource = scratch.source;
        return await fn(scratch, {
          format: 'pg_dump',
          from: { physicalName: s.physicalName, tenant: s.tenantId, tier: s.tier, dumpedFrom: s.dumpedFrom, dumpedBy: s.dumpedBy },
          pgRestore: s.pgRestore,
        });
      } finally {
        await scratch.drop();
        await step('scratch-dropped');
      }
    } finally {
      await cleanup();
    }
  }

  /**
   * Copies a tenant into a new one (demo and template tenants): a backup streamed straight into
   * a restore. The source keeps serving; the copy is its state at one snapshot.
   *
   * @example
   * ```ts
   * const demo = await tenancy.mobility.clone('template', { slug: 'demo-42', name: 'Demo 42' });
   * ```
   */
  async clone(source: string, target: NewTenantTarget, options: MobilityOptions = {}): Promise<Tenant> {
    return await this.#counted('clone', async () => await this.#clone(source, target, options));
  }

  async #clone(source: string, target: NewTenantTarget, options: MobilityOptions): Promise<Tenant> {
    const from = await this.#get(source);
    assertReadable(from, 'clone');
    const checked = await this.#checkNewTarget(target);
    return await this.#piped(from, async (reader, header) => await this.#restoreNew(reader, header, checked, 'cloned', options));
  }

  /**
   * Moves a tenant to another server and/or tier (`schema` ⇄ `database`), offline: the tenant
   * is SUSPENDED (its units of work fail with `TENANT_SUSPENDED`) while its data is copied and
   * verified, then one registry transaction points it at the new copy and resumes it. The old
   * copy is kept, suspended, for `retainHours` (`purgeMoved()` drops it after). Cut short at any
   * step, `reconcile()` drops the new copy and resumes the tenant where it was.
   *
   * @example
   * ```ts
   * const { pauseMs } = await tenancy.mobility.move('acme', { server: 'eu-2', isolation: 'database' });
   * ```
   */
  async move(tenant: string, target: MoveTarget, options: MobilityOptions = {}): Promise<MoveResult> {
    return await this.#counted('move', async () => await this.#move(tenant, target, options));
  }

  async #move(tenant: string, target: MoveTarget, options: MobilityOptions): Promise<MoveResult> {
    if (target === null || typeof target !== 'object') throw invalidArgument('move(tenant, { server?, isolation?, retainHours? })');
    const current = await this.#get(tenant);
    assertReadable(current, 'move');
    const server = target.server === undefined ? current.server : await this.#checkServer(target.server);
    const isolation = target.isolation === undefined ? current.isolation : this.#checkIsolation(target.isolation);
    const retainHours = target.retainHours ?? 7 * 24;
    if (typeof retainHours !== 'number' || !Number.isFinite(retainHours) || retainHours < 0 || retainHours > 24 * 3650)
      throw invalidArgument('retainHours must be a number of hours from 0 to 87600');
    if (server === current.server && isolation === current.isolation)
      throw invalidArgument(`tenant '${current.slug}' is already a ${isolation} tenant on server '${server}'`, {
        context: { tenant: current.slug },
      });
    // Opt-in until the known loss of writes right after the switch is fixed (docs/mobility.md).
    const online = target.online ?? 'auto';
    if (online !== true && online !== false && online !== 'auto') throw invalidArgument("online must be true, false or 'auto'");
    const cutoverMs = target.cutoverTimeoutMs ?? 5000;
    if (typeof cutoverMs !== 'number' || !Number.isInteger(cutoverMs) || cutoverMs < 100 || cutoverMs > 60_000)
      throw invalidArgument('cutoverTimeoutMs must be a whole number of milliseconds from 100 to 60000');
    let reason: string | undefined = 'online: false';
    if (online !== false) {
      reason = await whyNotOnline(this.#d, current, { server, isolation });
      const prepared = reason === undefined ? await this.#prepareOnline(current) : undefined;
      if (prepared !== undefined && prepared.noIdentity.length > 0)
        reason = `tables without a primary key or replica identity: ${prepared.noIdentity.join(', ')}`;
      if (reason === undefined && prepared !== undefined)
        return await this.#moveOnline(current, { server, isolation, retainHours, cutoverMs }, prepared, options);
      if (online === true)
        throw invalidArgument(`tenant '${current.slug}' cannot be moved online: ${reason}`, { context: { tenant: current.slug } });
    }
    const result = await this.#replace(current, 'move', { server, isolation, retainHours }, undefined, undefined, options);
    return { ...result, offlineReason: reason! };
  }

  /**
   * Empties a server by moving its tenants elsewhere: marks it draining (no new tenant lands on
   * it), then moves each tenant on it with {@link Mobility.move} (offline: each tenant is
   * suspended only for its own copy), `concurrency` at a time, to `to` or to the least-loaded
   * server with room. One tenant's failure never stops the others: it stays, whole and as it
   * was, on the drained server, and its result says why. Tenants in no state to move
   * (PROVISIONING, MIGRATING, FAILED…) are skipped. Old copies are retained on the drained
   * server for `retainHours` (`purgeMoved()` drops them); run it again to retry the failed.
   *
   * @example
   * ```ts
   * const r = await tenancy.mobility.drain('eu-1', { to: 'eu-2', concurrency: 2, retainHours: 0, onProgress: (p) => log(p.done, p.total) });
   * if (!r.ok) for (const f of r.results.filter((x) => x.status === 'failed')) log(f.tenant.slug, f.error?.message);
   * ```
   */
  async drain(server: string, options: DrainOptions = {}): Promise<DrainResult> {
    const { concurrency } = checkDrainOptions(options);
    if (typeof server !== 'string' || !SERVER_ID.test(server))
      throw invalidArgument('a server id is lowercase letters, digits and hyphens, starting with a letter (at most 63)');
    if (!(await this.#d.serverRegistry.get(server)))
      throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${server}'; list them with tenancy.servers.list()`, {
        context: { server },
      });
    if (options.to !== undefined) {
      if (options.to === server) throw invalidArgument(`cannot drain server '${server}' into itself; give another server as to`);
      await this.#checkServer(options.to);
    }
    await this.#d.serverRegistry.setDraining(server, true);
    return await drainServer(this.#d, server, options, concurrency, (id, target) =>
      this.move(id, target, options.actor === undefined ? {} : { actor: options.actor }),
    );
  }

  /**
   * Drops the old copies of moved tenants whose retention ended (at `now`, default the present).
   * @returns the tenants whose old copy was dropped.
   */
  async purgeMoved(options: ActorOptions & { readonly now?: Date } = {}): Promise<{ tenant: string; oldCopy: string }[]> {
    const now = options.now ?? new Date();
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw invalidArgument('now must be a valid Date');
    const purged: { tenant: string; oldCopy: string }[] = [];
    for (const job of await expiredCopies(this.#d.registryDb, now)) {
      const copy = await this.#d.registry.find({ kind: 'id', value: job.stagingId! });
      if (!copy) continue;
      await this.#dropOldCopy(copy, 'SUSPENDED', options.actor);
      purged.push({ tenant: job.tenantId, oldCopy: copy.id });
    }
    return purged;
  }

  // ---------------------------------------------------------------------------------------

  async #counted<T>(operation: MobilityOperation, fn: () => Promise<T>): Promise<T> {
    try {
      const value = await fn();
      this.#stats[operation].ok++;
      return value;
    } catch (err) {
      this.#stats[operation].failed++;
      throw err;
    }
  }

  async #get(ref: string): Promise<Tenant> {
    const tenant = await this.#d.registry.findTenant(parseTenantRef(ref));
    if (!tenant || tenant.status === 'DELETED') throw tenantNotFound(String(ref));
    return tenant;
  }

  #reader(input: Readable): ArchiveReader {
    if (input === null || typeof input !== 'object' || typeof (input as Readable)[Symbol.asyncIterator] !== 'function')
      throw invalidArgument('restore needs a readable stream');
    return new ArchiveReader(input);
  }

  async #header(reader: ArchiveReader): Promise<ArchiveHeader> {
    const first = await reader.next();
    if (first.kind !== 'H') throw archiveInvalid(`it starts with frame '${first.kind}' instead of its header`);
    return first.header;
  }

  #checkIsolation(isolation: unknown): IsolationKind {
    const kinds = this.#d.strategies.map((s) => s.kind);
    if (typeof isolation !== 'string' || !kinds.includes(isolation as IsolationKind))
      throw invalidArgument(`isolation must be ${kinds.map((k) => `'${k}'`).join(' or ')}`);
    return isolation as IsolationKind;
  }

  async #checkServer(server: unknown): Promise<string> {
    if (typeof server !== 'string' || !SERVER_ID.test(server))
      throw invalidArgument('a server id is lowercase letters, digits and hyphens, starting with a letter (at most 63)');
    const row = await this.#d.serverRegistry.get(server);
    if (!row)
      throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${server}'; list them with tenancy.servers.list()`, {
        context: { server },
      });
    if (row.draining)
      throw new TenantryError(
        ErrorCodes.SERVER_DRAINING,
        `server '${server}' is draining and takes no tenants; pick another or undrain it`,
        {
          context: { server },
        },
      );
    if (row.capacity !== null && row.tenants >= row.capacity)
      throw new TenantryError(ErrorCodes.NO_SERVER_CAPACITY, `server '${server}' is full (${row.tenants} of ${row.capacity} tenants)`, {
        context: { server },
      });
    return server;
  }

  async #checkNewTarget(
    target: NewTenantTarget,
  ): Promise<{ slug: string; name: string | undefined; server: string; isolation: IsolationKind | undefined }> {
    if (target === null || typeof target !== 'object') throw invalidArgument('the new tenant needs { slug, name?, server?, isolation? }');
    const slug = assertSlug(target.slug);
    const name = target.name === undefined ? undefined : checkText(target.name, 'name', 200);
    const isolation = target.isolation === undefined ? undefined : this.#checkIsolation(target.isolation);
    let server: string;
    if (target.server !== undefined) server = await this.#checkServer(target.server);
    else {
      const picked = await this.#d.serverRegistry.pick();
      if (!picked) throw new TenantryError(ErrorCodes.NO_SERVER_CAPACITY, 'every server is full or draining; add one or raise a capacity');
      server = picked;
    }
    return { slug, name, server, isolation };
  }

  async #migrationsFor(header: ArchiveHeader): Promise<ReturnType<typeof migrationsForLedger>> {
    try {
      return migrationsForLedger(
        header.ledger,
        await pinnedMigrations(this.#d.migrations),
        `the archive of tenant '${header.tenant.slug}'`,
      );
    } catch (err) {
      throw archiveInvalid(err instanceof Error ? err.message : String(err), err);
    }
  }

  async #step(options: MobilityOptions, step: MobilityStep, tenant: Tenant): Promise<void> {
    this.#d.logger.debug({ tenant: tenant.id, step }, 'mobility step');
    await options.onStep?.(step);
  }

  /** Registers a staging copy: PROVISIONING, aimed at a version no ledger reaches. */
  async #registerStaging(
    job: string,
    slug: string,
    name: string,
    server: string,
    isolation: IsolationKind,
    options: MobilityOptions,
    extra: { plan: string | null; metadata: Record<string, unknown>; kind: 'tenant' | 'copy' },
  ): Promise<Tenant> {
    const id = randomUUID();
    const physicalName = physicalNameFor(id);
    return await this.#d.registry.insert({
      id,
      slug,
      name,
      plan: extra.plan,
      metadata: extra.metadata,
      physicalName,
      role: this.#d.tenantRoles ? physicalName : null,
      isolation,
      server,
      targetVersion: stagingTarget(job),
      actor: options.actor,
      kind: extra.kind,
    });
  }

  /** Runs `fn` with the staging copy's lifecycle lock taken on `lockDb` (which holds another's). */
  async #lockAlso(lockDb: Queryable, tenant: Tenant): Promise<void> {
    await lockDb.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [lifecycleLockKey(tenant.id)]);
    const fresh = await this.#d.registry.find({ kind: 'id', value: tenant.id }, lockDb);
    if (fresh?.status !== 'PROVISIONING')
      throw new TenantryError(
        ErrorCodes.PROVISIONING_FAILED,
        `the new copy '${tenant.slug}' was settled by another process before it was loaded`,
        {
          context: { tenant: tenant.slug },
        },
      );
  }

  /** Restore into a new tenant: staging copy, load, then ACTIVE. */
  async #restoreNew(
    reader: ArchiveReader,
    header: ArchiveHeader,
    target: { slug: string; name: string | undefined; server: string; isolation: IsolationKind | undefined },
    action: 'restored' | 'cloned',
    options: MobilityOptions,
    extraDetail: Record<string, unknown> = {},
  ): Promise<Tenant> {
    const migrations = await this.#migrationsFor(header);
    const job = randomUUID();
    const started = performance.now();
    const staging = await this.#registerStaging(
      job,
      target.slug,
      target.name ?? header.tenant.name,
      target.server,
      target.isolation ?? header.tier,
      options,
      { plan: header.tenant.plan, metadata: { ...header.tenant.metadata }, kind: 'tenant' },
    );
    await this.#step(options, 'staging-registered', staging);
    try {
      const tenant = await this.#d.lifecycle.hold(staging, false, async (_key, lockDb) => {
        await this.#lockAlso(lockDb!, staging);
        let manifest: ArchiveManifest | undefined;
        const applied = await provisionAndLoad(
          this.#d,
          staging,
          migrations,
          async (client) => {
            manifest = await loadArchive(client, header, reader, this.#hooks(options, staging));
          },
          this.#hooks(options, staging),
        );
        const done = await this.#d.registry.transition(
          staging.id,
          {
            from: ['PROVISIONING'],
            to: 'ACTIVE',
            action,
            actor: options.actor,
            detail: {
              from: { tenant: header.tenant.id, slug: header.tenant.slug, tier: header.tier, server: header.server },
              tables: manifest!.tableData.length,
              rows: manifest!.tableData.reduce((n, t) => n + t.rows, 0),
              dataChecksum: manifest!.dataChecksum,
              durationMs: Math.round(performance.now() - started),
              ...extraDetail,
            },
            schemaVersion: applied.at(-1)?.name ?? null,
          },
          lockDb,
        );
        if (!done.ok) throw new TenantryError(ErrorCodes.INTERNAL, `the new tenant '${staging.slug}' changed while it was being restored`);
        await this.#d.registry.recordMigrations(lockDb!, staging.id, applied);
        return done.tenant;
      });
      this.#d.cache.invalidate(staging.id);
      await this.#step(options, 'activated', tenant);
      return tenant;
    } catch (err) {
      // Nothing of the copy is kept (provisionAndLoad dropped what it made); its slug is free again.
      await this.#d.registry
        .transition(staging.id, {
          from: ['PROVISIONING'],
          to: 'DELETED',
          action: `${action === 'restored' ? 'restore' : 'clone'}-failed`,
          actor: options.actor,
          error: err instanceof Error ? err.message : String(err),
        })
        .catch((e: unknown) => this.#d.logger.error({ err: e, tenant: staging.id }, 'could not record the failed restore'));
      this.#d.cache.invalidate(staging.id);
      throw err;
    }
  }

  #hooks(
    options: MobilityOptions,
    tenant: Tenant,
  ): { step: (s: MobilityStep) => Promise<void>; onProgress: MobilityOptions['onProgress'] } {
    return { step: (s) => this.#step(options, s, tenant), onProgress: options.onProgress };
  }

  /** A backup of `from` streamed into `consume` through a pipe; either failing stops both. */
  async #piped<T>(from: Tenant, consume: (reader: ArchiveReader, header: ArchiveHeader) => Promise<T>): Promise<T> {
    return await pipeArchive(
      (out) => backupTenant(this.#d, from, out, { quiesce: true }),
      async (reader) => await consume(reader, await this.#header(reader)),
    );
  }

  /**
   * Restore in place and move: suspend, load a staging copy (from `reader`, or from a backup of
   * the tenant itself), switch the registry to it in one transaction, then drop or keep the old.
   */
  async #replace(
    current: Tenant,
    kind: MobilityJobKind,
    target: { server: string; isolation: IsolationKind; retainHours: number },
    reader: ArchiveReader | undefined,
    header: ArchiveHeader | undefined,
    options: MobilityOptions,
    extraDetail: Record<string, unknown> = {},
  ): Promise<MoveResult> {
    const d = this.#d;
    const started = performance.now();
    const job = randomUUID();
    const previousStatus: TenantStatus = current.status;
    if (previousStatus !== 'ACTIVE' && previousStatus !== 'SUSPENDED')
      throw new TenantryError(ErrorCodes.TENANT_NOT_READY, `cannot ${kind} tenant '${current.slug}': it is ${previousStatus}`, {
        context: { tenant: current.slug },
      });
    if (header !== undefined) await this.#migrationsFor(header);
    const switched = await d.lifecycle.hold(current, false, async (_key, lockDb) => {
      const fresh = await d.registry.find({ kind: 'id', value: current.id }, lockDb);
      if (fresh?.status !== previousStatus)
        throw new TenantryError(
          ErrorCodes.INVALID_STATE_TRANSITION,
          `tenant '${current.slug}' changed while the ${kind} began; try again`,
          {
            context: { tenant: current.slug },
          },
        );
      await insertJob(d.registryDb, { id: job, kind, tenantId: current.id, previousStatus });
      let pausedAt = performance.now();
      if (previousStatus === 'ACTIVE') {
        const suspended = await d.registry.transition(current.id, {
          from: ['ACTIVE'],
          to: 'SUSPENDED',
          action: `${kind}-suspend`,
          actor: options.actor,
          detail: { job, to: { server: target.server, isolation: target.isolation } },
        });
        d.cache.invalidate(current.id);
        if (!suspended.ok)
          throw new TenantryError(ErrorCodes.INVALID_STATE_TRANSITION, `tenant '${current.slug}' changed while the ${kind} began`);
        pausedAt = performance.now();
      }
      await this.#step(options, 'suspended', current);
      const source = (await d.registry.find({ kind: 'id', value: current.id }))!;
      // A move reads which keys the source stores in key order (while the backup checks for drift):
      // the load keeps those and maintains them as the rows stream in. Only a hint: none on failure.
      const orderedKeys =
        reader === undefined
          ? inTenantTransaction(d.router, d.strategyFor(source.isolation), source, orderedKeysOf).catch(() => new Set<string>())
          : Promise.resolve(new Set<string>());
      let staging: Tenant | undefined;
      try {
        const load = async (
          r: ArchiveReader,
          h: ArchiveHeader,
        ): Promise<{ manifest: ArchiveManifest; applied: Awaited<ReturnType<typeof provisionAndLoad>> }> => {
          const migrations = await this.#migrationsFor(h);
          staging = await this.#registerStaging(
            job,
            `tenantry-${kind}-${job.slice(0, 8)}`,
            `${kind === 'move' ? 'move' : 'restore'} of ${current.slug}`,
            target.server,
            target.isolation,
            options,
            { plan: null, metadata: { 'tenantry.copyOf': current.id }, kind: 'copy' },
          );
          await setJobStaging(d.registryDb, job, staging.id);
          await this.#step(options, 'staging-registered', staging);
          await this.#lockAlso(lockDb!, staging);
          let manifest: ArchiveManifest | undefined;
          const applied = await provisionAndLoad(
            d,
            staging,
            migrations,
            async (client) => {
              manifest = await loadArchive(client, h, r, { ...this.#hooks(options, staging!), orderedKeys: await orderedKeys });
            },
            this.#hooks(options, staging),
          );
          return { manifest: manifest!, applied };
        };
        const { manifest, applied } =
          reader !== undefined && header !== undefined ? await load(reader, header) : await this.#piped(source, load);
        const retainUntil = kind === 'move' && target.retainHours > 0 ? new Date(Date.now() + target.retainHours * 3_600_000) : null;
        const switched = await inTransaction(
          () => d.registryDb.connect(),
          async (db) => {
            await d.registry.recordMigrations(db, staging!.id, applied);
            return await switchPlacement(db, {
              jobId: job,
              tenantId: current.id,
              stagingId: staging!.id,
              status: previousStatus,
              stagingStatus: retainUntil === null ? 'DELETING' : 'SUSPENDED',
              stagingSlug: `tenantry-old-${job.slice(0, 8)}`,
              schemaVersion: applied.at(-1)?.name ?? null,
              action: kind === 'move' ? 'moved' : 'restored',
              actor: options.actor,
              detail: {
                job,
                from: { server: current.server, isolation: current.isolation },
                to: { server: target.server, isolation: target.isolation },
                tables: manifest.tableData.length,
                rows: manifest.tableData.reduce((n, t) => n + t.rows, 0),
                dataChecksum: manifest.dataChecksum,
                ...extraDetail,
              },
              retainUntil,
            });
          },
        );
        d.cache.invalidate(current.id);
        d.cache.invalidate(staging!.id);
        if (!switched)
          throw new TenantryError(
            ErrorCodes.INVALID_STATE_TRANSITION,
            `tenant '${current.slug}' changed during the ${kind} (resumed or deleted?); the new copy was not used`,
            {
              context: { tenant: current.slug },
            },
          );
        const pauseMs = Math.round(performance.now() - pausedAt);
        await this.#step(options, 'switched', current);
        return { oldCopyId: staging!.id, retainUntil, pauseMs, manifest };
      } catch (err) {
        // Not switched: the old copy is the tenant, whole. The new one goes, the tenant comes back.
        if (staging !== undefined) {
          const s = await d.registry.find({ kind: 'id', value: staging.id });
          if (s?.status === 'PROVISIONING') {
            await d
              .strategyFor(s.isolation)
              .drop(s)
              .catch((e: unknown) => d.logger.error({ err: e, tenant: s.id }, 'could not drop a new copy'));
            await d.registry
              .transition(s.id, {
                from: ['PROVISIONING'],
                to: 'DELETED',
                action: `${kind}-failed`,
                actor: options.actor,
                error: String(err),
              })
              .catch(() => undefined);
          }
        }
        if (previousStatus === 'ACTIVE')
          await d.registry
            .transition(current.id, {
              from: ['SUSPENDED'],
              to: 'ACTIVE',
              action: `${kind}-undone`,
              actor: options.actor,
              error: err instanceof Error ? err.message : String(err),
            })
            .catch((e: unknown) => d.logger.error({ err: e, tenant: current.id }, 'could not resume a tenant after a failed move'));
        await finishJob(d.registryDb, job, 'undone', { error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
        d.cache.invalidate(current.id);
        throw err;
      }
    });
    // Switched: the old copy is DELETING (dropped now, or by reconcile() if this stops) or
    // SUSPENDED until its retention ends. Dropped outside the tenant's lock, under its own.
    const oldCopy = (await d.registry.find({ kind: 'id', value: switched.oldCopyId }))!;
    if (switched.retainUntil === null) await this.#dropOldCopy(oldCopy, 'DELETING', options.actor);
    await this.#step(options, 'old-copy-dropped', current);
    const tenant = (await d.registry.find({ kind: 'id', value: current.id }))!;
    d.logger.info(
      { tenant: tenant.id, kind, from: current.server, to: tenant.server, pauseMs: switched.pauseMs },
      `tenant ${kind === 'move' ? 'moved' : 'restored in place'}`,
    );
    return {
      tenant,
      from: { server: current.server, isolation: current.isolation },
      oldCopy: switched.retainUntil === null ? null : oldCopy.id,
      retainUntil: switched.retainUntil,
      online: false,
      pauseMs: switched.pauseMs,
      durationMs: Math.round(performance.now() - started),
      manifest: switched.manifest,
    };
  }

  /** The source's tables (drift refused), schema, ledger, and the tables replication cannot take. */
  async #prepareOnline(current: Tenant): Promise<PreparedOnline> {
    const tables = await assertNoDrift(this.#d, current);
    return await inTenantTransaction(this.#d.router, this.#d.strategyFor(current.isolation), current, async (c) => {
      const schema = (await c.query<{ s: string }>('select current_schema() as s')).rows[0]!.s;
      return { tables, schema, ledger: (await readLedgerIn(c, schema)) ?? [], noIdentity: await tablesWithoutIdentity(c, schema, tables) };
    });
  }

  /**
   * An online move: the new copy made by the tenant's migrations, filled and kept up to date by
   * logical replication while the tenant serves from its old copy; then the cutover: new units
   * of work wait at the gate, writers still running finish (SHARE locks on the source's tables),
   * the copy catches up with the source's last write, the sequences follow, and one registry
   * transaction switches the tenant and opens the gate. Undone at any step before the switch.
   */
  async #moveOnline(
    current: Tenant,
    target: { server: string; isolation: IsolationKind; retainHours: number; cutoverMs: number },
    prepared: PreparedOnline,
    options: MobilityOptions,
  ): Promise<MoveResult> {
    const d = this.#d;
    const started = performance.now();
    const job = randomUUID();
    const migrations = migrationsForLedger(prepared.ledger ?? [], await pinnedMigrations(d.migrations), `tenant '${current.slug}'`);
    const sourceDatabase = d.strategyFor(current.isolation).target(current, false).database ?? null;
    let r: OnlineReplication = {
      ...replicationNames(job),
      source: { server: current.server, database: sourceDatabase, schema: prepared.schema },
    };
    const done = await d.lifecycle.hold(current, false, async (_key, lockDb) => {
      const fresh = await d.registry.find({ kind: 'id', value: current.id }, lockDb);
      if (fresh?.status !== 'ACTIVE' || cutoverDeadline(fresh) !== undefined)
        throw new TenantryError(ErrorCodes.INVALID_STATE_TRANSITION, `tenant '${current.slug}' changed while the move began; try again`, {
          context: { tenant: current.slug },
        });
      await insertJob(d.registryDb, { id: job, kind: 'move', tenantId: current.id, previousStatus: 'ACTIVE' });
      await setJobDetail(d.registryDb, job, { online: r });
      let staging: Tenant | undefined;
      let source: PooledClient | undefined;
      let gateClosed = false;
      try {
        staging = await this.#registerStaging(
          job,
          `tenantry-move-${job.slice(0, 8)}`,
          `move of ${current.slug}`,
          target.server,
          target.isolation,
          options,
          {
            plan: null,
            metadata: { 'tenantry.copyOf': current.id },
            kind: 'copy',
          },
        );
        await setJobStaging(d.registryDb, job, staging.id);
        await this.#step(options, 'staging-registered', staging);
        await this.#lockAlso(lockDb!, staging);
        const applied = await provisionAndLoad(d, staging, migrations, async () => undefined, this.#hooks(options, staging));
        const made = staging;
        const own = await inTenantTransaction(d.router, d.strategyFor(made.isolation), made, async (c) => {
          return (await c.query<{ s: string }>('select current_schema() as s')).rows[0]!.s;
        });
        const targetDatabase = d.strategyFor(made.isolation).target(made, false).database ?? null;
        r = {
          ...r,
          target: {
            server: made.server,
            database: targetDatabase,
            schema: prepared.schema,
            renamedFrom: own === prepared.schema ? null : own,
          },
        };
        await setJobDetail(d.registryDb, job, { online: r });
        if (r.target!.renamedFrom !== null) await onSide(d, r.target!, (c) => renameSchema(c, own, prepared.schema));
        await publish(d, r, prepared.tables);
        const sourceUrl = (await this.#lookup(current.server))?.url;
        if (sourceUrl === undefined) throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${current.server}'`);
        await subscribe(d, r, sourceUrl);
        await this.#step(options, 'replicating', current);
        await waitCaughtUp(d, r, Date.now() + CATCH_UP_MS);
        await this.#step(options, 'caught-up', current);

        // The cutover: new work waits at the gate from here until the switch (or the undo).
        const until = Date.now() + target.cutoverMs;
        await setCutoverGate(d.registryDb, current.id, { job, until });
        gateClosed = true;
        d.cache.invalidate(current.id);
        const pausedAt = performance.now();
        await this.#step(options, 'cutover', current);
        await new Promise((resolve) => setTimeout(resolve, GATE_GRACE_MS));
        source = await d.router.connect({ server: current.server, ...(sourceDatabase === null ? {} : { database: sourceDatabase }) });
        await source.query('begin');
        await source.query(`select set_config('lock_timeout', $1, true)`, [`${Math.max(1, until - Date.now())}ms`]);
        // Waits for the writers still running (they commit on the source, before the LSN below).
        await source.query(`lock table ${prepared.tables.join(', ')} in share mode`);
        // Every writer that got in before the lock has committed: wait for the copy to have it all.
        await waitFlushed(d, r, await sourcePosition(d, r), until);
        await syncSequences(d, r, source);
        await unsubscribe(d, r);
        if (Date.now() > until) throw new Error(`the cutover took longer than ${target.cutoverMs} ms`);
        const retainUntil = target.retainHours > 0 ? new Date(Date.now() + target.retainHours * 3_600_000) : null;
        const detail = {
          job,
          mode: 'online',
          from: { server: current.server, isolation: current.isolation },
          to: { server: target.server, isolation: target.isolation },
          tables: prepared.tables.length,
        };
        const switched = await inTransaction(
          () => d.registryDb.connect(),
          async (db) => {
            await d.registry.recordMigrations(db, made.id, applied);
            return await switchPlacement(db, {
              jobId: job,
              tenantId: current.id,
              stagingId: made.id,
              status: 'ACTIVE',
              fromStatus: 'ACTIVE',
              stagingStatus: retainUntil === null ? 'DELETING' : 'SUSPENDED',
              stagingSlug: `tenantry-old-${job.slice(0, 8)}`,
              schemaVersion: applied.at(-1)?.name ?? null,
              action: 'moved',
              actor: options.actor,
              detail,
              retainUntil,
            });
          },
        );
        d.cache.invalidate(current.id);
        d.cache.invalidate(made.id);
        if (!switched)
          throw new TenantryError(
            ErrorCodes.INVALID_STATE_TRANSITION,
            `tenant '${current.slug}' changed during the move; the new copy was not used`,
            {
              context: { tenant: current.slug },
            },
          );
        const pauseMs = Math.round(performance.now() - pausedAt);
        // Writers that passed the gate before it closed fail instead of writing to the old copy:
        // those waiting for its lock are cancelled, and any later one finds its writes revoked.
        await closeOldCopy(source, prepared.schema, current.role!);
        const cancelled = await cancelLockWaiters(source, prepared.schema);
        await source.query('commit');
        d.router.release(source);
        source = undefined;
        openLocalGate(current.id);
        await this.#step(options, 'switched', current);
        await unpublish(d, r);
        await setJobDetail(d.registryDb, job, { replicationCleaned: true, cancelledWriters: cancelled });
        return { oldCopyId: made.id, retainUntil, pauseMs };
      } catch (err) {
        // Not switched: the old copy is the tenant, whole and in service. Everything new goes.
        const log = (what: string) => (e: unknown) => d.logger.error({ err: e, tenant: current.id, job }, what);
        if (source !== undefined) {
          await source.query('rollback').catch(() => undefined);
          d.router.release(source, err instanceof Error ? err : new Error(String(err)));
        }
        await unsubscribe(d, r).catch(log('could not drop an online move’s subscription'));
        await unpublish(d, r).catch(log('could not drop an online move’s slot or publication'));
        if (gateClosed) await setCutoverGate(d.registryDb, current.id, undefined).catch(log('could not open a cutover gate'));
        d.cache.invalidate(current.id);
        openLocalGate(current.id);
        if (staging !== undefined) {
          const s = await d.registry.find({ kind: 'id', value: staging.id });
          if (s?.status === 'PROVISIONING') {
            await d.strategyFor(s.isolation).drop(s).catch(log('could not drop a new copy'));
            await d.registry
              .transition(s.id, { from: ['PROVISIONING'], to: 'DELETED', action: 'move-failed', actor: options.actor, error: String(err) })
              .catch(() => undefined);
          }
        }
        await setJobDetail(d.registryDb, job, { replicationCleaned: true }).catch(() => undefined);
        await finishJob(d.registryDb, job, 'undone', { error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
        await logActivity(
          d.registryDb,
          current.id,
          'move-undone',
          options.actor,
          { job, mode: 'online' },
          err instanceof Error ? err.message : String(err),
        ).catch(() => undefined);
        throw err;
      }
    });
    const oldCopy = (await d.registry.find({ kind: 'id', value: done.oldCopyId }))!;
    if (done.retainUntil === null) await this.#dropOldCopy(oldCopy, 'DELETING', options.actor);
    await this.#step(options, 'old-copy-dropped', current);
    const tenant = (await d.registry.find({ kind: 'id', value: current.id }))!;
    d.logger.info({ tenant: tenant.id, from: current.server, to: tenant.server, pauseMs: done.pauseMs }, 'tenant moved online');
    return {
      tenant,
      from: { server: current.server, isolation: current.isolation },
      oldCopy: done.retainUntil === null ? null : oldCopy.id,
      retainUntil: done.retainUntil,
      online: true,
      pauseMs: done.pauseMs,
      durationMs: Math.round(performance.now() - started),
      manifest: null,
    };
  }

  /** Drops an old copy (a registry row in `from`: DELETING after a restore, SUSPENDED when retained) and marks it DELETED. */
  async #dropOldCopy(copy: Tenant, from: 'DELETING' | 'SUSPENDED', actor: string | undefined): Promise<void> {
    const d = this.#d;
    if (from === 'SUSPENDED') {
      const marked = await d.registry.transition(copy.id, { from: ['SUSPENDED'], to: 'DELETING', action: 'purge-moved', actor });
      if (!marked.ok) return;
    }
    await d.lifecycle.hold(copy, false, async (_key, lockDb) => {
      await d.strategyFor(copy.isolation).drop(copy);
      await d.registry.transition(copy.id, { from: ['DELETING'], to: 'DELETED', action: 'deleted', actor }, lockDb);
    });
    d.cache.invalidate(copy.id);
    await logActivity(d.registryDb, copy.id, 'old-copy-dropped', actor, {}).catch(() => undefined);
  }
}
