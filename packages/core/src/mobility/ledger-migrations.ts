/**
 * The migrations that recreate a tenant's schema: its ledger's entries, found by name in this
 * process's migration source with the same checksum, in the source's order.
 */
import { ErrorCodes, TenantryError } from '../errors.js';
import type { Migration } from '../migrations/migration-source.js';

/** Resolves `ledger` against `source`; throws when an entry is missing or its file changed. */
export function migrationsForLedger(
  ledger: readonly { readonly name: string; readonly checksum: string }[],
  source: readonly Migration[],
  what: string,
): Migration[] {
  const byName = new Map(source.map((m) => [m.name, m]));
  for (const entry of ledger) {
    const m = byName.get(entry.name);
    if (m === undefined)
      throw new TenantryError(
        ErrorCodes.MIGRATION_INVALID,
        `${what} was made by migration '${entry.name}', which this process's migration source does not have; start Tenantry with the migrations the tenant was made with`,
        { context: { migration: entry.name } },
      );
    if (m.checksum !== entry.checksum)
      throw new TenantryError(
        ErrorCodes.MIGRATION_CHECKSUM_MISMATCH,
        `${what} was made by migration '${entry.name}' with checksum ${entry.checksum.slice(0, 12)}…, but its file now has ${m.checksum.slice(0, 12)}…; the schema cannot be recreated from it (repairMigrations() accepts a deliberate edit)`,
        { context: { migration: entry.name } },
      );
  }
  const names = new Set(ledger.map((l) => l.name));
  return source.filter((m) => names.has(m.name));
}
