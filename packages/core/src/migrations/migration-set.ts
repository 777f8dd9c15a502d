/**
 * The migration set a running process provisions new tenants with. It is read once (at start)
 * and kept: a migration file added or edited while the process runs reaches new tenants only
 * when the process is asked to migrate (`tenancy.migrate()`, `rollback()`, `repairMigrations()`
 * re-read it), never by surprise at the next `tenants.create()`.
 */
import type { Migration, MigrationSource } from './migration-source.js';

const pinned = new WeakMap<MigrationSource, Promise<readonly Migration[]>>();

/** The set this process uses for `source`: read on first use, then kept until {@link reloadMigrations}. */
export function pinnedMigrations(source: MigrationSource): Promise<readonly Migration[]> {
  let set = pinned.get(source);
  if (set === undefined) {
    set = source.load();
    pinned.set(source, set);
    // A failed read is not kept: the next use tries again.
    set.catch(() => {
      if (pinned.get(source) === set) pinned.delete(source);
    });
  }
  return set;
}

/** Reads `source` again and keeps the result as the set new tenants get (a failed read keeps the old one). */
export async function reloadMigrations(source: MigrationSource): Promise<readonly Migration[]> {
  const set = await source.load();
  pinned.set(source, Promise.resolve(set));
  return set;
}
