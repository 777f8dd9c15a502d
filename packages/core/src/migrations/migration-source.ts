import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCodes, TenantryError } from '../errors.js';

/** One tenant migration. `up` is schema-neutral SQL: it runs with the tenant's schema first on the search_path. */
export interface Migration {
  /** Unique, ordered name, e.g. `0001_create_posts`. */
  readonly name: string;
  /** sha256 of `up`; an applied migration whose checksum changed is reported. */
  readonly checksum: string;
  readonly up: string;
  readonly down?: string;
}

/**
 * Where tenant migrations come from. Tenantry ships {@link sqlFolder}; ORM adapters supply
 * their own.
 */
export interface MigrationSource {
  /** All migrations, in the order they apply. Called at create and before each migration run. */
  load(): Promise<readonly Migration[]>;
  /** Human-readable origin for messages, e.g. the folder path. */
  readonly description: string;
}

const FILE_PATTERN = /^(\d{4,})_([a-z0-9][a-z0-9_-]*)\.sql$/i;
const DOWN_FILE_PATTERN = /^(\d{4,})_([a-z0-9][a-z0-9_-]*)\.down\.sql$/i;
const DOWN_MARKER = /^--\s*down\s*$/im;

/** sha256 of a migration's SQL, hex. */
export function checksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n').trim()).digest('hex');
}

/** A source with a fixed list of migrations (tests, programmatic setups). */
export function migrationList(migrations: readonly { name: string; up: string; down?: string }[]): MigrationSource {
  const list = migrations.map((m) => Object.freeze({ ...m, checksum: checksum(m.up) }));
  validateOrder(list, 'a migration list');
  return { description: 'a migration list', load: async () => list };
}

function validateOrder(list: readonly Migration[], where: string): void {
  const seen = new Set<string>();
  for (const m of list) {
    if (seen.has(m.name))
      throw new TenantryError(ErrorCodes.MIGRATION_INVALID, `duplicate migration '${m.name}' in ${where}`, {
        context: { migration: m.name },
      });
    seen.add(m.name);
  }
}

/**
 * A folder of SQL files `NNNN_name.sql`, applied in name order. A file may carry its down part
 * after a `-- down` line, or in a `NNNN_name.down.sql` twin. Other `.sql` files are an error, so
 * a typo never silently skips a migration.
 *
 * @example
 * ```ts
 * createTenancy({ registryUrl, migrations: sqlFolder('./migrations') })
 * ```
 */
export function sqlFolder(dir: string): MigrationSource {
  const path = resolve(dir);
  return {
    description: path,
    async load() {
      let names: string[];
      try {
        names = (await readdir(path)).filter((n) => n.toLowerCase().endsWith('.sql')).sort();
      } catch (err) {
        throw new TenantryError(ErrorCodes.MIGRATION_INVALID, `cannot read the migrations folder ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const downs = new Map<string, string>();
      const ups: { name: string; file: string }[] = [];
      for (const file of names) {
        const down = DOWN_FILE_PATTERN.exec(file);
        if (down) {
          downs.set(`${down[1]}_${down[2]}`, file);
          continue;
        }
        const m = FILE_PATTERN.exec(file);
        if (!m) {
          throw new TenantryError(
            ErrorCodes.MIGRATION_INVALID,
            `migration file '${file}' in ${path} is not named NNNN_name.sql (e.g. 0001_create_posts.sql)`,
          );
        }
        ups.push({ name: `${m[1]}_${m[2]}`, file });
      }
      const list: Migration[] = [];
      for (const { name, file } of ups) {
        const text = await readFile(join(path, file), 'utf8');
        const marker = DOWN_MARKER.exec(text);
        const up = (marker ? text.slice(0, marker.index) : text).trim();
        let down = marker ? text.slice(marker.index + marker[0].length).trim() : undefined;
        const downFile = downs.get(name);
        if (downFile !== undefined) {
          if (down !== undefined)
            throw new TenantryError(
              ErrorCodes.MIGRATION_INVALID,
              `migration '${name}' has both a '-- down' part and ${downFile}; keep one`,
              { context: { migration: name } },
            );
          down = (await readFile(join(path, downFile), 'utf8')).trim();
          downs.delete(name);
        }
        if (up.length === 0)
          throw new TenantryError(ErrorCodes.MIGRATION_INVALID, `migration '${name}' (${file}) is empty`, { context: { migration: name } });
        list.push(Object.freeze(down === undefined ? { name, up, checksum: checksum(up) } : { name, up, down, checksum: checksum(up) }));
      }
      for (const [name, file] of downs) {
        throw new TenantryError(ErrorCodes.MIGRATION_INVALID, `${file} has no matching ${name}.sql`, { context: { migration: name } });
      }
      validateOrder(list, path);
      return list;
    },
  };
}
