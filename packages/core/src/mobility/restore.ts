/**
 * Restore: an archive's data loaded into a fresh copy of the tenant whose schema its migration
 * ledger makes, verified against the manifest before the copy is recorded anywhere.
 *
 * The copy is a registry row of its own (the "staging" row), PROVISIONING with a target version
 * no ledger ever reaches (mobility-registry.ts `stagingTarget`): if the process stops at any
 * point before the copy is recorded, `reconcile()` finds it unfinished and drops it, exactly as
 * it undoes an interrupted create. A restore into a new tenant then makes that row ACTIVE; a
 * restore in place or a move switches the tenant over to it (mobility-registry.ts).
 *
 * Loading: foreign keys, primary keys, unique and exclusion constraints and indexes are dropped
 * and made again after the data (so the tables' order does not matter, every row is checked once
 * at the end, and each index is built once by a sort instead of row by row) — except the keys a
 * move knows arrive in key order (`LoadHooks.orderedKeys`), which are maintained as the rows
 * stream in, as a bare COPY into the table would, instead of built after them — user triggers are
 * disabled while COPY runs, generated columns are recomputed, and sequences are set to the
 * archived positions.
 *
 * Verification without reading the data back: every byte COPY FROM took was hashed on its way in
 * and must match the table's end frame and the manifest (sha256 per table, a data checksum over
 * all of them), and PostgreSQL's own row count for each COPY must match too. COPY either stores
 * every row it parsed or fails the transaction, and nothing rewrites rows meanwhile (no user
 * trigger runs; generated columns are not in the archive), so the stored rows are those bytes. The
 * sequences, set by `setval`, are read back.
 */
import type pg from 'pg';
import { quoteIdent } from '../identifiers.js';
import type { TenancyInternals } from '../internals.js';
import type { Migration } from '../migrations/migration-source.js';
import type { AppliedMigration } from '../migrations/tenant-ledger.js';
import type { PooledClient } from '../server-pool.js';
import { inTenantTransaction } from '../transaction.js';
import type { Tenant } from '../types.js';
import {
  archiveInvalid,
  dataChecksum,
  type ArchiveHeader,
  type ArchiveManifest,
  type ArchiveReader,
  type ArchivedTable,
} from './archive-format.js';
import type { MobilityProgress } from './backup.js';
import { dataTables, sequenceNames } from './catalog.js';
import { copyTableIn, readSequences } from './table-copy.js';

/** Points of a restore, clone or move, reported to `onStep` (logs, crash tests). */
export type MobilityStep =
  | 'suspended'
  | 'staging-registered'
  | 'container-created'
  | 'table-loaded'
  | 'replicating'
  | 'caught-up'
  | 'cutover'
  | 'data-verified'
  | 'activated'
  | 'switched'
  | 'old-copy-dropped';

/** Hooks of a load. */
export interface LoadHooks {
  readonly step: (step: MobilityStep) => Promise<void>;
  readonly onProgress?: ((progress: MobilityProgress) => void) | undefined;
  /**
   * Primary keys and unique constraints (`table.constraint`) whose rows arrive in key order: kept
   * during the load and maintained as COPY stores each row (appending to the index's rightmost
   * page costs about what a sort would, and runs while the data streams instead of after it),
   * instead of dropped and built after. Default none: keys in random order (uuids) are far
   * cheaper to build by a sort.
   */
  readonly orderedKeys?: ReadonlySet<string> | undefined;
}

function sameColumns(a: ArchivedTable, b: ArchivedTable): boolean {
  return a.columns.length === b.columns.length && a.columns.every((c, i) => c.name === b.columns[i]!.name && c.type === b.columns[i]!.type);
}

/**
 * Reads the rest of the archive (after its header) into the tenant `client` points at (inside a
 * transaction, entered), and verifies it. Returns the manifest.
 */
export async function loadArchive(
  client: pg.ClientBase,
  header: ArchiveHeader,
  reader: ArchiveReader,
  hooks: LoadHooks,
): Promise<ArchiveManifest> {
  const { rows } = await client.query<{ schema: string }>('select current_schema() as schema');
  const schema = rows[0]!.schema;
  const q = (name: string): string => `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const targets = new Map((await dataTables(client, schema)).map((t) => [t.name, t]));
  const differs = [
    ...header.tables.filter((t) => !targets.has(t.name) || !sameColumns(t, targets.get(t.name)!)).map((t) => t.name),
    ...[...targets.keys()].filter((name) => !header.tables.some((t) => t.name === name)),
  ];
  if (differs.length > 0)
    throw archiveInvalid(`its tables do not match what its migrations make here (${[...new Set(differs)].join(', ')})`);
  // Constraints and indexes come back after the data; user triggers must not rewrite archived rows.
  const deferred = await deferredDefinitions(client, schema, hooks.orderedKeys ?? new Set());
  await dropDeferred(client, deferred, q);
  for (const table of targets.keys()) await client.query(`alter table ${q(table)} disable trigger user`);

  const loaded: { name: string; rows: number; sha256: string }[] = [];
  let frame = await reader.next();
  while (frame.kind === 'T') {
    const name = frame.table;
    const table = targets.get(name);
    if (table === undefined || loaded.some((l) => l.name === name)) throw archiveInvalid(`table '${name}' is unexpected`);
    let end: { rows: number; sha256: string; table: string } | undefined;
    const chunks = async function* (): AsyncGenerator<Buffer> {
      for (;;) {
        const f = await reader.next();
        if (f.kind === 'D') yield f.data;
        else if (f.kind === 'E') {
          end = f;
          return;
        } else throw archiveInvalid(`frame '${f.kind}' inside the data of table '${table.name}'`);
      }
    };
    const got = await copyTableIn(client, schema, table, chunks());
    if (end === undefined || end.table !== table.name) throw archiveInvalid(`the data of table '${table.name}' has no end`);
    if (got.rows !== end.rows || got.sha256 !== end.sha256)
      throw archiveInvalid(
        `table '${table.name}': ${got.rows} rows arrived with sha256 ${got.sha256.slice(0, 12)}…, the archive says ${end.rows} with ${end.sha256.slice(0, 12)}…`,
      );
    loaded.push({ name: table.name, rows: got.rows, sha256: got.sha256 });
    hooks.onProgress?.({ table: table.name, rows: got.rows, done: loaded.length, total: header.tables.length });
    await hooks.step('table-loaded');
    frame = await reader.next();
  }
  if (frame.kind !== 'S') throw archiveInvalid(`expected the sequences, found frame '${frame.kind}'`);
  const sequences = frame.sequences;
  const known = new Set(await sequenceNames(client, schema));
  for (const s of sequences) {
    if (!known.has(s.name)) throw archiveInvalid(`sequence '${s.name}' is not made by its migrations here`);
    await client.query('select pg_catalog.setval($1::regclass, $2::bigint, $3)', [q(s.name), s.lastValue, s.isCalled]);
  }
  frame = await reader.next();
  if (frame.kind !== 'M') throw archiveInvalid(`expected the manifest, found frame '${frame.kind}'`);
  const manifest = frame.manifest;
  if ((await reader.next()).kind !== 'Z') throw archiveInvalid('the manifest is not followed by the end marker');
  if (dataChecksum(manifest.tableData, manifest.sequences) !== manifest.dataChecksum)
    throw archiveInvalid('the manifest does not match its own checksum');
  if (dataChecksum(loaded, sequences) !== manifest.dataChecksum)
    throw archiveInvalid('the data read does not match the manifest (tables or sequences differ)');

  await restoreDeferred(client, deferred, q);
  for (const table of targets.keys()) await client.query(`alter table ${q(table)} enable trigger user`);

  // The data was verified as it arrived (above); the sequences are read back.
  const positions = await readSequences(
    client,
    schema,
    manifest.sequences.map((s) => s.name),
  );
  for (const [i, p] of positions.entries()) {
    const want = manifest.sequences[i]!;
    if (p.lastValue !== want.lastValue || p.isCalled !== want.isCalled)
      throw archiveInvalid(`sequence '${p.name}' is at ${p.lastValue} after the restore, the manifest says ${want.lastValue}`);
  }
  await hooks.step('data-verified');
  return manifest;
}

/** What is dropped before the data and made again after it, in the order it is made again. */
interface Deferred {
  /** Plain indexes (not behind a constraint): `CREATE INDEX …`, each built once after the data. */
  readonly indexes: readonly { table: string; name: string; def: string }[];
  /** Primary keys, unique and exclusion constraints (their indexes built once), then foreign keys. */
  readonly constraints: readonly { table: string; name: string; kind: string; def: string }[];
}

/**
 * The constraints and indexes of `schema` that can be made after the data. Kept in place: indexes
 * that mark the replica identity or the clustering of a table (lost by a drop), and constraints of
 * partitioned tables.
 */
async function deferredDefinitions(client: pg.ClientBase, schema: string, orderedKeys: ReadonlySet<string>): Promise<Deferred> {
  const { rows: constraints } = await client.query<{ table: string; name: string; kind: string; def: string }>(
    `select c.relname as table, k.conname as name, k.contype as kind, pg_get_constraintdef(k.oid) as def
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
       left join pg_index i on i.indexrelid = k.conindid
      where n.nspname = $1 and c.relkind = 'r' and k.contype in ('p', 'u', 'x', 'f') and k.conparentid = 0
        and (k.contype = 'f' or not (coalesce(i.indisreplident, false) or coalesce(i.indisclustered, false)))
      order by case k.contype when 'f' then 1 else 0 end, c.relname, k.conname`,
    [schema],
  );
  const { rows: indexes } = await client.query<{ table: string; name: string; def: string }>(
    `select c.relname as table, x.relname as name, pg_get_indexdef(i.indexrelid) as def
       from pg_index i join pg_class x on x.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind = 'r' and not i.indisreplident and not i.indisclustered
        and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
        and not exists (select 1 from pg_inherits h where h.inhrelid = i.indexrelid)
      order by c.relname, x.relname`,
    [schema],
  );
  return {
    indexes,
    constraints: constraints.filter((k) => !((k.kind === 'p' || k.kind === 'u') && orderedKeys.has(`${k.table}.${k.name}`))),
  };
}

/**
 * The primary keys and unique constraints of the tenant `client` points at whose leading column
 * the planner's statistics say is stored in ascending order (`pg_stats.correlation` ≥ 0.99): a
 * COPY, which reads in storage order, sends their rows in key order. Tables never analyzed have
 * no statistics and are left out.
 */
export async function orderedKeysOf(client: pg.ClientBase): Promise<Set<string>> {
  const { rows } = await client.query<{ key: string }>(
    `select c.relname || '.' || k.conname as key
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum = k.conkey[1]
       join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = a.attname and not s.inherited
      where n.nspname = current_schema() and c.relkind = 'r' and k.contype in ('p', 'u') and s.correlation >= 0.99`,
  );
  return new Set(rows.map((r) => r.key));
}

async function dropDeferred(client: pg.ClientBase, d: Deferred, q: (name: string) => string): Promise<void> {
  // Foreign keys first: they depend on the unique indexes they reference.
  for (const k of [...d.constraints].reverse()) await client.query(`alter table ${q(k.table)} drop constraint ${quoteIdent(k.name)}`);
  for (const i of d.indexes) await client.query(`drop index ${q(i.name)}`);
}

async function restoreDeferred(client: pg.ClientBase, d: Deferred, q: (name: string) => string): Promise<void> {
  // pg_get_indexdef names the table schema-qualified: the same statement the migration ran.
  for (const i of d.indexes) await client.query(i.def);
  for (const k of d.constraints) await client.query(`alter table ${q(k.table)} add constraint ${quoteIdent(k.name)} ${k.def}`);
}

/**
 * Creates `staging`'s container with `migrations` (no seeds) and loads the archive into it, as
 * one transaction where the strategy allows (a schema in the registry's database), else right
 * after the container commits. On failure the container is dropped. Returns the ledger applied.
 * The caller holds `staging`'s lifecycle lock.
 */
export async function provisionAndLoad(
  d: TenancyInternals,
  staging: Tenant,
  migrations: readonly Migration[],
  load: (client: PooledClient) => Promise<void>,
  hooks: LoadHooks,
): Promise<AppliedMigration[]> {
  const strategy = d.strategyFor(staging.isolation);
  let applied: AppliedMigration[] = [];
  let loaded = false;
  await strategy.provision({
    tenant: staging,
    migrations,
    seeds: [],
    lockInTransaction: undefined,
    created: () => hooks.step('container-created'),
    record: async (ledger, db) => {
      applied = [...ledger];
      if (db !== undefined) {
        // Inside the provisioning transaction: the data commits with the container or not at all.
        const client = db as PooledClient;
        await strategy.enter(client, staging);
        await load(client);
        await client.query('reset role');
        loaded = true;
      }
      return staging;
    },
  });
  if (!loaded) {
    try {
      await inTenantTransaction(d.router, strategy, staging, load);
    } catch (err) {
      await strategy
        .drop(staging)
        .catch((e: unknown) => d.logger.error({ err: e, tenant: staging.id }, 'could not drop a half-restored copy'));
      throw err;
    }
  }
  return applied;
}
