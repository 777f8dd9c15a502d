import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checksum, migrationInvalid, type Migration, type MigrationSource } from '@tenantry/core';
import { unqualifyPublic } from '@tenantry/core/adapter';

export { unqualifyPublic };

/** Options of {@link drizzleMigrations}. */
export interface DrizzleMigrationsOptions {
  /** drizzle-kit's output folder (`out` in drizzle.config.ts): `NNNN_name.sql` files and `meta/_journal.json`. */
  readonly folder: string;
  /**
   * Remove the `"public".` qualifiers drizzle-kit writes (on enum types and foreign-key
   * targets), so that the SQL is schema-neutral and lands in each tenant. Default true.
   */
  readonly unqualifyPublic?: boolean;
}

interface Journal {
  readonly dialect?: string;
  readonly entries: readonly { readonly idx: number; readonly tag: string; readonly when?: number }[];
}

const BREAKPOINT = '--> statement-breakpoint';

/**
 * A drizzle-kit output folder as Tenantry's migration source: the migrations of
 * `meta/_journal.json`, in its order, each named by its tag (`0000_init`), its statements
 * (split at `--> statement-breakpoint`) run in one go in each tenant's transaction. Generate
 * them as usual (`drizzle-kit generate`, which works offline); Tenantry applies them to every
 * tenant with its own ledger — drizzle's `__drizzle_migrations` table is not used.
 *
 * Pitfall: declare tenant tables with `pgTable()`, not in a `pgSchema()` — a named schema is
 * one schema shared by every tenant of a server.
 *
 * @example
 * ```ts
 * createTenancy({ registryUrl, migrations: drizzleMigrations('./drizzle') });
 * ```
 */
export function drizzleMigrations(options: string | DrizzleMigrationsOptions): MigrationSource {
  const opts: DrizzleMigrationsOptions = typeof options === 'string' ? { folder: options } : options;
  if (opts === null || typeof opts !== 'object' || typeof opts.folder !== 'string' || opts.folder === '') {
    throw migrationInvalid("drizzleMigrations() takes drizzle-kit's output folder, e.g. drizzleMigrations('./drizzle')");
  }
  const folder = resolve(opts.folder);
  const unqualify = opts.unqualifyPublic !== false;
  return {
    description: folder,
    async load(): Promise<readonly Migration[]> {
      const journalPath = join(folder, 'meta', '_journal.json');
      let journal: Journal;
      try {
        journal = JSON.parse(await readFile(journalPath, 'utf8')) as Journal;
      } catch (err) {
        throw migrationInvalid(
          `cannot read drizzle-kit's journal ${journalPath}: ${(err as Error).message}; generate migrations with \`drizzle-kit generate\``,
          undefined,
          err,
        );
      }
      if (!Array.isArray(journal?.entries)) throw migrationInvalid(`${journalPath} has no entries`);
      if (journal.dialect !== undefined && journal.dialect !== 'postgresql')
        throw migrationInvalid(`${journalPath} is for ${journal.dialect}, not postgresql`);
      const entries = [...journal.entries].sort((a, b) => a.idx - b.idx);
      const list: Migration[] = [];
      const seen = new Set<string>();
      for (const entry of entries) {
        const name = entry.tag;
        if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name))
          throw migrationInvalid(`${journalPath} has an entry with a malformed tag '${String(name)}'`);
        if (seen.has(name)) throw migrationInvalid(`duplicate migration '${name}' in ${journalPath}`, name);
        seen.add(name);
        let text: string;
        try {
          text = await readFile(join(folder, `${name}.sql`), 'utf8');
        } catch (err) {
          throw migrationInvalid(
            `migration '${name}' is in ${journalPath} but ${name}.sql cannot be read: ${(err as Error).message}`,
            name,
            err,
          );
        }
        const statements = text
          .split(BREAKPOINT)
          .map((s) => (unqualify ? unqualifyPublic(s) : s).trim().replace(/;+\s*$/, ''))
          .filter((s) => s.length > 0);
        if (statements.length === 0) throw migrationInvalid(`migration '${name}' (${name}.sql) is empty`, name);
        const up = statements.join('\n;\n') + '\n;';
        list.push(Object.freeze({ name, up, checksum: checksum(up) }));
      }
      return list;
    },
  };
}
