/**
 * Shared tables: a second migration set, applied into one schema (`shared` by default) of every
 * server's own database (for its schema tenants) and of every tenant database. Tenants see it
 * after their own schema on the search_path, read-only unless a shared migration grants more.
 * Each target is migrated in one transaction under an advisory lock, with a ledger of its own
 * in the shared schema: a process killed at any point leaves a migration applied or not.
 */
import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, invalidArgument, TenantryError } from './errors.js';
import { assertIdent, quoteIdent, quoteLiteral } from './identifiers.js';
import { runConcurrently } from './fan-out.js';
import type { TenancyInternals } from './internals.js';
import type { Migration, MigrationSource } from './migrations/migration-source.js';
import { pinnedMigrations, reloadMigrations } from './migrations/migration-set.js';
import { inTransaction } from './transaction.js';

/** The ledger of shared migrations, in the shared schema of each database. */
export const SHARED_LEDGER_TABLE = '_tenantry_shared_migrations';

/** Names a shared schema may not take: PostgreSQL's own, Tenantry's registry, tenants' physical names. */
const RESERVED_SCHEMAS = new Set(['public', 'information_schema', 'tenantry', 'pg_temp', 'pg_toast']);

/** Validates the shared schema's name: an identifier by Tenantry's rules, not `public`, not a tenant's. */
export function assertSharedSchema(input: unknown): string {
  let name: string;
  try {
    name = assertIdent(input);
  } catch {
    throw invalidArgument(`sharedSchema must be a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 bytes, no pg_ prefix), e.g. 'shared'`);
  }
  if (RESERVED_SCHEMAS.has(name) || /^t_[0-9a-f]{32}$/.test(name))
    throw invalidArgument(`sharedSchema may not be '${name}': it is PostgreSQL's, the registry's or a tenant's name`);
  return name;
}

/** Where a shared migration run applied the set: a server's own database, or a tenant's database. */
export interface SharedTarget {
  readonly server: string;
  /** The database tenant whose database this is; null for the server's own database (its schema tenants). */
  readonly tenant: { readonly id: string; readonly slug: string } | null;
}

/** How one target fared. */
export interface SharedMigrationResult {
  readonly target: SharedTarget;
  readonly status: 'migrated' | 'up-to-date' | 'failed';
  readonly applied: readonly string[];
  readonly error: TenantryError | null;
  readonly durationMs: number;
}

/** What `tenancy.migrateShared()` returns: never throws for a target's failure. */
export interface SharedMigrationSummary {
  readonly schema: string;
  readonly latest: string | null;
  readonly results: readonly SharedMigrationResult[];
  readonly counts: Readonly<Record<SharedMigrationResult['status'], number>>;
  /** True when no target failed. */
  readonly ok: boolean;
  readonly durationMs: number;
}

/** Options of `tenancy.migrateShared()`. */
export interface MigrateSharedOptions {
  /** Targets migrated at once. Default 4; at most `pool.max - 1`. */
  readonly concurrency?: number;
  /** Called after each target. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number; readonly result: SharedMigrationResult }) => void;
}

/** Where one target stands, read from its ledger. */
export interface SharedTargetStatus {
  readonly target: SharedTarget;
  /** The last applied migration of the set (null: none). */
  readonly version: string | null;
  readonly pending: readonly string[];
  /** Applied migrations whose file changed since. */
  readonly changed: readonly string[];
  /** Set when the target could not be read. */
  readonly error: string | null;
}

/** What `tenancy.sharedMigrationStatus()` returns. */
export interface SharedMigrationStatusReport {
  readonly schema: string;
  readonly latest: string | null;
  readonly migrations: readonly string[];
  readonly targets: readonly SharedTargetStatus[];
  /** Targets with migrations to apply. */
  readonly pending: number;
}

/**
 * The shared migration set and its schema. One per tenancy; the isolation strategies call
 * {@link SharedTables.applyIn} when they create a container, {@link migrateShared} applies the
 * set everywhere.
 */
export class SharedTables {
  readonly schema: string;
  readonly source: MigrationSource;
  readonly #marker: string;

  /**
   * @param schema - the shared schema's name (validated by {@link assertSharedSchema}).
   * @param marker - the COMMENT that marks this registry's shared schemas.
   */
  constructor(source: MigrationSource, schema: string, marker: string) {
    this.source = source;
    this.schema = assertSharedSchema(schema);
    this.#marker = marker;
  }

  /** The set new containers get (read at start, re-read by a shared migration run). */
  pinned(): Promise<readonly Migration[]> {
    return pinnedMigrations(this.source);
  }

  /**
   * Applies what of `migrations` the database `client` is connected to lacks, inside the
   * caller's transaction, as the caller's role (which owns the schema). Creates the schema on
   * first use: closed to PUBLIC but for USAGE, and SELECT on every table shared migrations
   * create (default privileges). Refuses a schema of that name that this registry did not make.
   * The caller's search_path is restored afterwards.
   * @returns the names applied.
   */
  async applyIn(client: pg.ClientBase, migrations: readonly Migration[]): Promise<string[]> {
    const schema = quoteIdent(this.schema);
    const ledger = `${schema}.${SHARED_LEDGER_TABLE}`;
    // Nothing pending: one query, no lock.
    const before = await readSharedLedger(client, this.schema);
    if (before !== undefined && migrations.every((m) => before.has(m.name))) return [];
    // Two processes never apply the set to one database at once: the second waits, then finds it applied.
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`tenantry.shared:${this.schema}`]);
    const { rows } = await client.query<{ ours: boolean; marker: string | null }>(
      `select n.nspowner = (select oid from pg_roles where rolname = current_user) as ours, obj_description(n.oid, 'pg_namespace') as marker
         from pg_namespace n where n.nspname = $1`,
      [this.schema],
    );
    if (rows[0] === undefined) {
      await client.query(`create schema ${schema}`);
      await client.query(`comment on schema ${schema} is ${quoteLiteral(this.#marker)}`);
      await client.query(`revoke all on schema ${schema} from public`);
      await client.query(`grant usage on schema ${schema} to public`);
      await client.query(`alter default privileges in schema ${schema} grant select on tables to public`);
    } else if (!rows[0].ours || rows[0].marker !== this.#marker) {
      throw new TenantryError(
        ErrorCodes.MIGRATION_FAILED,
        `schema '${this.schema}' exists but is not this registry's shared schema (another owner or marker); rename it or choose another sharedSchema`,
        { context: { migration: this.schema } },
      );
    }
    await client.query(`create table if not exists ${ledger} (
      name        text primary key,
      checksum    text not null,
      applied_at  timestamptz not null default clock_timestamp(),
      duration_ms integer not null
    )`);
    const done = (await readSharedLedger(client, this.schema)) ?? new Map<string, string>();
    const pending = migrations.filter((m) => !done.has(m.name));
    if (pending.length === 0) return [];
    const { rows: path } = await client.query<{ path: string }>("select current_setting('search_path') as path");
    await client.query(`set local search_path to ${schema}, pg_temp`);
    const applied: string[] = [];
    for (const m of pending) {
      const started = performance.now();
      try {
        await client.query(m.up);
      } catch (err) {
        throw new TenantryError(
          ErrorCodes.MIGRATION_FAILED,
          `shared migration '${m.name}' failed: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err, context: { migration: m.name } },
        );
      }
      await client.query(`insert into ${ledger} (name, checksum, duration_ms) values ($1, $2, $3)`, [
        m.name,
        m.checksum,
        Math.round(performance.now() - started),
      ]);
      applied.push(m.name);
    }
    await client.query("select set_config('search_path', $1, true)", [path[0]!.path]);
    return applied;
  }
}

/** The shared ledger (name → checksum) in `schema`, read on `client`; undefined when there is none. */
export async function readSharedLedger(client: pg.ClientBase, schema: string): Promise<Map<string, string> | undefined> {
  const table = `${quoteIdent(schema)}.${SHARED_LEDGER_TABLE}`;
  const { rows: found } = await client.query<{ ok: boolean }>('select to_regclass($1) is not null as ok', [table]);
  if (!found[0]?.ok) return undefined;
  const { rows } = await client.query<{ name: string; checksum: string }>(`select name, checksum from ${table} order by applied_at, name`);
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

interface Target extends SharedTarget {
  readonly database: string | undefined;
}

/** Every server's own database, then every database tenant's database (not those being created or deleted). */
async function targets(d: TenancyInternals): Promise<Target[]> {
  const servers = await d.serverRegistry.list();
  const list: Target[] = servers.map((s) => ({ server: s.id, tenant: null, database: undefined }));
  if (!list.some((t) => t.server === d.registryServer)) list.unshift({ server: d.registryServer, tenant: null, database: undefined });
  const { rows } = await d.registryDb.query<{ id: string; slug: string; server_id: string; physical_name: string }>(
    `select id, slug, server_id, physical_name from tenantry.tenants
      where isolation = 'database' and kind = 'tenant' and status in ('ACTIVE', 'SUSPENDED', 'MIGRATING', 'MIGRATION_FAILED')
      order by seq`,
  );
  for (const r of rows) list.push({ server: r.server_id, tenant: { id: r.id, slug: r.slug }, database: r.physical_name });
  return list;
}

function connectTo(d: TenancyInternals, t: Target): () => Promise<pg.PoolClient> {
  return () => d.router.connect(t.database === undefined ? { server: t.server } : { server: t.server, database: t.database });
}

function publicTarget(t: Target): SharedTarget {
  return Object.freeze({ server: t.server, tenant: t.tenant === null ? null : Object.freeze({ ...t.tenant }) });
}

function sharedOf(d: TenancyInternals): SharedTables {
  if (d.shared === undefined) throw invalidArgument('no shared migrations are configured: pass sharedMigrations to createTenancy()');
  return d.shared;
}

function concurrencyOf(d: TenancyInternals, requested: number | undefined): number {
  const c = requested ?? 4;
  if (!Number.isInteger(c) || c < 1) throw invalidArgument('concurrency must be a positive integer');
  return Math.max(1, Math.min(c, d.router.capacity - 1));
}

/**
 * Re-reads the shared migration set and applies it to every server's own database and every
 * tenant database, each in one transaction. Never throws for a target's failure.
 */
export async function migrateShared(d: TenancyInternals, options: MigrateSharedOptions = {}): Promise<SharedMigrationSummary> {
  const started = performance.now();
  const shared = sharedOf(d);
  const concurrency = concurrencyOf(d, options.concurrency);
  const source = await reloadMigrations(shared.source);
  const all = await targets(d);
  const results: SharedMigrationResult[] = [];
  await runConcurrently(all, concurrency, async (t) => {
    const t0 = performance.now();
    let r: SharedMigrationResult;
    try {
      const applied = await inTransaction(connectTo(d, t), (client) => shared.applyIn(client, source));
      r = { target: publicTarget(t), status: applied.length > 0 ? 'migrated' : 'up-to-date', applied, error: null, durationMs: 0 };
    } catch (err) {
      const error =
        err instanceof TenantryError
          ? err
          : new TenantryError(
              ErrorCodes.MIGRATION_FAILED,
              `shared migrations failed: ${err instanceof Error ? err.message : String(err)}`,
              {
                cause: err,
              },
            );
      r = { target: publicTarget(t), status: 'failed', applied: [], error, durationMs: 0 };
    }
    r = Object.freeze({ ...r, applied: Object.freeze([...r.applied]), durationMs: Math.round(performance.now() - t0) });
    results.push(r);
    options.onProgress?.({ done: results.length, total: all.length, result: r });
  });
  const order = new Map(all.map((t, i) => [`${t.server}/${t.tenant?.id ?? ''}`, i]));
  results.sort(
    (a, b) => order.get(`${a.target.server}/${a.target.tenant?.id ?? ''}`)! - order.get(`${b.target.server}/${b.target.tenant?.id ?? ''}`)!,
  );
  const counts = { migrated: 0, 'up-to-date': 0, failed: 0 };
  for (const r of results) counts[r.status]++;
  const summary: SharedMigrationSummary = Object.freeze({
    schema: shared.schema,
    latest: source.at(-1)?.name ?? null,
    results: Object.freeze(results),
    counts: Object.freeze(counts),
    ok: counts.failed === 0,
    durationMs: Math.round(performance.now() - started),
  });
  d.logger.info({ counts, durationMs: summary.durationMs }, 'shared migration run finished');
  return summary;
}

/** Reads each target's shared ledger (one connection per target): its version, what is pending, what changed. */
export async function sharedMigrationStatus(d: TenancyInternals): Promise<SharedMigrationStatusReport> {
  const shared = sharedOf(d);
  const source = await shared.pinned();
  const all = await targets(d);
  const statuses = new Map<Target, SharedTargetStatus>();
  await runConcurrently(all, concurrencyOf(d, undefined), async (t) => {
    try {
      const ledger = await inTransaction(connectTo(d, t), (client) => readSharedLedger(client, shared.schema));
      const applied = ledger ?? new Map<string, string>();
      statuses.set(t, {
        target: publicTarget(t),
        version: [...source].reverse().find((m) => applied.has(m.name))?.name ?? null,
        pending: source.filter((m) => !applied.has(m.name)).map((m) => m.name),
        changed: source.filter((m) => applied.has(m.name) && applied.get(m.name) !== m.checksum).map((m) => m.name),
        error: null,
      });
    } catch (err) {
      statuses.set(t, {
        target: publicTarget(t),
        version: null,
        pending: source.map((m) => m.name),
        changed: [],
        error: err instanceof Error ? err.message : String(err),
      });
    }
  });
  const list = all.map((t) => statuses.get(t)!);
  return Object.freeze({
    schema: shared.schema,
    latest: source.at(-1)?.name ?? null,
    migrations: source.map((m) => m.name),
    targets: Object.freeze(list),
    pending: list.filter((s) => s.pending.length > 0).length,
  });
}
