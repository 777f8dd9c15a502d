import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, TenantryError } from '../errors.js';
import { quoteIdent } from '../identifiers.js';
import type { Migration } from './migration-source.js';

/** The ledger table in every tenant schema (or database). */
export const LEDGER_TABLE = '_tenantry_migrations';

/** A migration as applied to one tenant. */
export interface AppliedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: Date;
  readonly durationMs: number;
}

/** The ledger table's DDL (in the tenant first on the search path), to send in one batch with others. */
export const LEDGER_DDL = `create table if not exists ${LEDGER_TABLE} (
    name        text primary key,
    checksum    text not null,
    applied_at  timestamptz not null default clock_timestamp(),
    duration_ms integer not null
  )`;

/** Creates the ledger table in the tenant the client points at, if missing. */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  await client.query(LEDGER_DDL);
}

/** Runs one migration's `up` on `client` (a script: a simple query); its duration in ms, or `MIGRATION_FAILED` naming it. */
export async function runMigration(client: pg.ClientBase, m: Migration): Promise<number> {
  const started = performance.now();
  try {
    await client.query(m.up);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new TenantryError(ErrorCodes.MIGRATION_FAILED, `migration '${m.name}' failed: ${detail}`, {
      cause: err,
      context: { migration: m.name },
    });
  }
  return Math.round(performance.now() - started);
}

/**
 * Applies `migrations` in order on `client`, which must be inside a transaction with the
 * tenant first on the search_path. Records each in the tenant's ledger (created first unless
 * `ledgerCreated`: the caller sent {@link LEDGER_DDL} in a batch of its own).
 */
export async function applyMigrations(
  client: pg.ClientBase,
  migrations: readonly Migration[],
  options: { readonly ledgerCreated?: boolean } = {},
): Promise<AppliedMigration[]> {
  if (options.ledgerCreated !== true) await ensureLedger(client);
  const applied: AppliedMigration[] = [];
  for (const m of migrations) {
    const durationMs = await runMigration(client, m);
    const { rows } = await client.query<{ applied_at: Date }>(
      `insert into ${LEDGER_TABLE} (name, checksum, duration_ms) values ($1, $2, $3) returning applied_at`,
      [m.name, m.checksum, durationMs],
    );
    applied.push({ name: m.name, checksum: m.checksum, appliedAt: rows[0]!.applied_at, durationMs });
  }
  return applied;
}

/** The ledger of the tenant whose tables are in `schema`, read on `client`; undefined when it has no ledger table. */
export async function readLedgerIn(client: pg.ClientBase, schema: string): Promise<AppliedMigration[] | undefined> {
  const table = `${quoteIdent(schema)}.${LEDGER_TABLE}`;
  const { rows: found } = await client.query<{ ok: boolean }>('select to_regclass($1) is not null as ok', [table]);
  if (!found[0]?.ok) return undefined;
  const { rows } = await client.query<{ name: string; checksum: string; applied_at: Date; duration_ms: number }>(
    `select name, checksum, applied_at, duration_ms from ${table} order by applied_at, name`,
  );
  return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }));
}
