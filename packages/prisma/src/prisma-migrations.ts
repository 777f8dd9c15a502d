import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checksum, migrationInvalid, type Migration, type MigrationSource } from '@tenantry/core';
import { unqualifyPublic } from '@tenantry/core/adapter';

export { unqualifyPublic };

/** Options of {@link prismaMigrations}. */
export interface PrismaMigrationsOptions {
  /** Prisma's migrations folder: one `<name>/migration.sql` per migration (e.g. `./prisma/migrations`). */
  readonly folder: string;
  /**
   * Remove the `"public".` qualifiers Prisma writes before table, type and foreign-key names,
   * so that the SQL is schema-neutral and lands in each tenant. Default true.
   */
  readonly unqualifyPublic?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Prisma's migrations folder as Tenantry's migration source: each `<name>/migration.sql`, in
 * name order (Prisma's timestamped names, `20240101120000_init`), applied by Tenantry to every
 * tenant — in the tenant's transaction, with its own ledger (Prisma's `_prisma_migrations` table
 * is not used). An optional `<name>/down.sql` (as `prisma migrate diff` writes one) is the
 * migration's down part, for `tenancy.rollback()`. `migration_lock.toml` and other files are
 * ignored; a folder without `migration.sql` is an error.
 *
 * Generate migrations as usual on a development machine (`prisma migrate dev --create-only`, or
 * `prisma migrate diff --from-migrations … --to-schema … --script`): Prisma's CLI needs its
 * schema engine, which it downloads; Tenantry never runs it.
 *
 * Pitfall: Prisma writes `"public".` before names in migrations; they are removed (outside
 * literals and comments) so that the SQL lands in each tenant's schema. Keep tenant models
 * without `@@schema`.
 *
 * @example
 * ```ts
 * createTenancy({ registryUrl, migrations: prismaMigrations('./prisma/migrations') });
 * ```
 */
export function prismaMigrations(options: string | PrismaMigrationsOptions): MigrationSource {
  const opts: PrismaMigrationsOptions = typeof options === 'string' ? { folder: options } : options;
  if (opts === null || typeof opts !== 'object' || typeof opts.folder !== 'string' || opts.folder === '') {
    throw migrationInvalid("prismaMigrations() takes Prisma's migrations folder, e.g. prismaMigrations('./prisma/migrations')");
  }
  const folder = resolve(opts.folder);
  const unqualify = opts.unqualifyPublic === false ? (s: string) => s : unqualifyPublic;
  return {
    description: folder,
    async load(): Promise<readonly Migration[]> {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (err) {
        throw migrationInvalid(`cannot read Prisma's migrations folder ${folder}: ${(err as Error).message}`, undefined, err);
      }
      const names = entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
      const list: Migration[] = [];
      for (const name of names) {
        if (!NAME.test(name)) throw migrationInvalid(`migration folder '${name}' in ${folder} has a malformed name`, name);
        const up = (await readOptional(join(folder, name, 'migration.sql')))?.trim();
        if (up === undefined) throw migrationInvalid(`migration folder '${name}' in ${folder} has no migration.sql`, name);
        if (up.length === 0) throw migrationInvalid(`migration '${name}' (migration.sql) is empty`, name);
        const sql = unqualify(up);
        const downText = (await readOptional(join(folder, name, 'down.sql')))?.trim();
        const down = downText === undefined || downText.length === 0 ? undefined : unqualify(downText);
        list.push(
          Object.freeze(down === undefined ? { name, up: sql, checksum: checksum(sql) } : { name, up: sql, down, checksum: checksum(sql) }),
        );
      }
      return list;
    },
  };
}
