/**
 * Backup of one tenant into Tenantry's archive (archive-format.ts): one REPEATABLE READ, READ
 * ONLY transaction on the tenant's own connection (so every table is read in one snapshot,
 * which `pg_export_snapshot()` names for the log), a binary `COPY … TO STDOUT` per table streamed
 * into the archive as it arrives, then the sequences and the manifest.
 *
 * Before anything is written the tenant's catalog is compared with what its migrations make:
 * the archive holds data only, so a tenant changed by hand is refused (`CATALOG_DRIFTED`).
 */
import { PassThrough, type Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, isTenantryError, TenantryError } from '../errors.js';
import { quoteIdent } from '../identifiers.js';
import type { TenancyInternals } from '../internals.js';
import { pinnedMigrations } from '../migrations/migration-set.js';
import { readLedgerIn } from '../migrations/tenant-ledger.js';
import { sqlState } from '../pg-errors.js';
import { inTenantTransaction, inTransaction } from '../transaction.js';
import type { Tenant } from '../types.js';
import type pg from 'pg';
import {
  ArchiveReader,
  ArchiveWriter,
  dataChecksum,
  type ArchiveHeader,
  type ArchiveManifest,
  type SequencePosition,
} from './archive-format.js';
import { catalogDrift, catalogDrifted, dataTables, describeCatalog, referenceCatalog, sequenceNames } from './catalog.js';
import { migrationsForLedger } from './ledger-migrations.js';
import { copyTableOut, readSequences } from './table-copy.js';

/** Reported after each table of a backup or restore. */
export interface MobilityProgress {
  readonly table: string;
  readonly rows: number;
  /** Tables done so far, and in all. */
  readonly done: number;
  readonly total: number;
}

/** Options of a backup. */
export interface BackupOptions {
  /** Called after each table. */
  readonly onProgress?: (progress: MobilityProgress) => void;
  /**
   * Wait for the units of work writing to the tenant to end before the snapshot is taken, and
   * hold off new writers until the backup ends (SHARE locks on every table). For moves and
   * restores in place of a suspended tenant; a plain backup leaves writers alone.
   */
  readonly quiesce?: boolean;
}

/** Statuses whose data may be read for a backup, clone or move. */
export const READABLE_STATUSES: readonly string[] = ['ACTIVE', 'SUSPENDED'];

export function assertReadable(tenant: Tenant, what: string): void {
  if (!READABLE_STATUSES.includes(tenant.status))
    throw new TenantryError(
      ErrorCodes.TENANT_NOT_READY,
      `cannot ${what} tenant '${tenant.slug}': it is ${tenant.status}; only ACTIVE or SUSPENDED tenants can be read whole`,
      { context: { tenant: tenant.slug } },
    );
}

/**
 * Refuses a tenant whose catalog is not what its ledger's migrations make (`CATALOG_DRIFTED`,
 * listing the differences). Runs in a transaction of its own that changes nothing.
 */
export async function assertNoDrift(d: TenancyInternals, tenant: Tenant): Promise<string[]> {
  const strategy = d.strategyFor(tenant.isolation);
  const source = await pinnedMigrations(d.migrations);
  return await inTenantTransaction(d.router, strategy, tenant, async (client) => {
    const { rows } = await client.query<{ schema: string }>('select current_schema() as schema');
    const schema = rows[0]!.schema;
    const ledger = (await readLedgerIn(client, schema)) ?? [];
    const migrations = migrationsForLedger(ledger, source, `tenant '${tenant.slug}'`);
    const actual = await describeCatalog(client, schema);
    // The scratch schema is made by the application's role; in a tenant database it may have to
    // be the database's owner, the tenant's role.
    await client.query('reset role');
    let reference: string[];
    try {
      reference = await referenceCatalog(client, migrations, null);
    } catch (err) {
      if (sqlState(err) !== '42501' || tenant.role === null) throw err;
      reference = await referenceCatalog(client, migrations, tenant.role);
    }
    const drift = catalogDrift(actual, reference);
    if (drift.length > 0) throw catalogDrifted(tenant.slug, drift);
    return (await dataTables(client, schema)).map((t) => `${quoteIdent(schema)}.${quoteIdent(t.name)}`);
  });
}

/**
 * Writes `tenant`'s archive to `out` (which is not ended: the caller owns it). Returns the
 * manifest, which is also the archive's last frame.
 */
export async function backupTenant(
  d: TenancyInternals,
  tenant: Tenant,
  out: Writable,
  options: BackupOptions = {},
): Promise<ArchiveManifest> {
  assertReadable(tenant, 'back up');
  const tables = await assertNoDrift(d, tenant);
  const strategy = d.strategyFor(tenant.isolation);
  const writer = new ArchiveWriter(out);
  const started = performance.now();
  const manifest = await inTransaction(
    () => d.router.connect(strategy.target(tenant, false)),
    async (client) => {
      const { rows } = await client.query<{ schema: string; version: number; snapshot: string }>(
        `select current_schema() as schema, current_setting('server_version_num')::int as version, pg_export_snapshot() as snapshot`,
      );
      const { schema, version, snapshot } = rows[0]!;
      const ledger = (await readLedgerIn(client, schema)) ?? [];
      const tables = await dataTables(client, schema);
      const header: ArchiveHeader = {
        format: 1,
        tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name, plan: tenant.plan, metadata: tenant.metadata },
        tier: tenant.isolation,
        server: tenant.server,
        serverVersion: version,
        ledger: ledger.map((l) => ({ name: l.name, checksum: l.checksum, appliedAt: l.appliedAt.toISOString() })),
        tables,
        createdAt: new Date().toISOString(),
      };
      d.logger.info({ tenant: tenant.id, snapshot, tables: tables.length }, 'backing up tenant');
      return await writeArchive(writer, client, schema, header, options.onProgress);
    },
    {
      enter: async (client) => {
        // One snapshot for every table: the first statement of the transaction fixes it.
        // (LOCK … IN SHARE MODE is refused in a READ ONLY transaction.)
        await client.query(`set transaction isolation level repeatable read, ${options.quiesce === true ? 'read write' : 'read only'}`);
        await strategy.enter(client, tenant);
        // LOCK takes no snapshot: the snapshot (the next query) sees every writer that held one committed.
        if (options.quiesce === true && tables.length > 0) await client.query(`lock table ${tables.join(', ')} in share mode`);
      },
    },
  );
  d.logger.info(
    { tenant: tenant.id, tables: manifest.tableData.length, durationMs: Math.round(performance.now() - started) },
    'tenant backed up',
  );
  return manifest;
}

/**
 * Writes the archive of `schema` as `client` sees it (the caller's transaction fixes the
 * snapshot): `header`, then each of `header.tables` as binary COPY frames with its row count and
 * sha256, the sequences, the manifest and the end frame. Returns the manifest.
 */
export async function writeArchive(
  writer: ArchiveWriter,
  client: pg.ClientBase,
  schema: string,
  header: ArchiveHeader,
  onProgress?: (progress: MobilityProgress) => void,
): Promise<ArchiveManifest> {
  const { tables } = header;
  await writer.frame('H', header);
  const tableData: { name: string; rows: number; sha256: string }[] = [];
  for (const table of tables) {
    await writer.frame('T', { table: table.name });
    const got = await copyTableOut(client, schema, table, (chunk) => writer.frame('D', chunk));
    await writer.frame('E', { table: table.name, rows: got.rows, sha256: got.sha256 });
    tableData.push({ name: table.name, ...got });
    onProgress?.({ table: table.name, rows: got.rows, done: tableData.length, total: tables.length });
  }
  const sequences: SequencePosition[] = await readSequences(client, schema, await sequenceNames(client, schema));
  await writer.frame('S', sequences);
  const manifest: ArchiveManifest = { ...header, tableData, sequences, dataChecksum: dataChecksum(tableData, sequences) };
  await writer.frame('M', manifest);
  await writer.frame('Z');
  return manifest;
}

/**
 * An archive written by `write` streamed into `consume` through a pipe (no file in between);
 * either failing stops both. When both fail, the writer's error is the one thrown unless
 * `consume` failed for a reason of its own (a TenantryError other than ARCHIVE_INVALID): the
 * writer's own error says more than "the stream was closed".
 */
export async function pipeArchive<T>(
  write: (out: Writable) => Promise<unknown>,
  consume: (reader: ArchiveReader) => Promise<T>,
): Promise<T> {
  const pipe = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  const reader = new ArchiveReader(pipe);
  const written = write(pipe).then(
    () => {
      pipe.end();
    },
    (err: unknown) => {
      pipe.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    },
  );
  try {
    const value = await consume(reader);
    await written;
    return value;
  } catch (err) {
    pipe.destroy();
    const writeError = await written.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (writeError !== undefined && (!isTenantryError(err) || err.code === ErrorCodes.ARCHIVE_INVALID)) throw writeError;
    throw err;
  }
}
