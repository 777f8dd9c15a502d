import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import knex, { type Knex } from 'knex';
import { checksum, migrationInvalid, type Migration, type MigrationSource } from '@tenantry/core';
import { CONNECTIONS, knexPgClient, type KnexTenancyOptions } from './knex-adapter.js';

/** A Knex migration module: `exports.up = (knex) => …`, `exports.down`, `exports.config`. */
export interface KnexMigration {
  up(knex: Knex): PromiseLike<unknown> | unknown;
  down?(knex: Knex): PromiseLike<unknown> | unknown;
  readonly config?: { readonly transaction?: boolean };
}

/** Options of {@link knexMigrations}. */
export interface KnexMigrationsOptions {
  /** Folder(s) of migration files, as Knex's `migrations.directory` (relative to the working directory). */
  readonly directory?: string | readonly string[];
  /** Extensions of migration files. Default `.js`, `.cjs`, `.mjs` (add `.ts` under a TypeScript loader). */
  readonly loadExtensions?: readonly string[];
  /** A Knex migration source (`migrations.migrationSource`), instead of folders. */
  readonly migrationSource?: Knex.MigrationSource<unknown>;
  /**
   * The application's Knex options that shape SQL (`wrapIdentifier`, `useNullAsDefault`…), as
   * given to `knexTenancy()`.
   */
  readonly knexOptions?: KnexTenancyOptions;
}

const DEFAULT_EXTENSIONS = ['.js', '.cjs', '.mjs'] as const;

/** Statements that read: their result cannot be recorded. */
const READ = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*(select|with|show|table|values|explain|fetch)\b/i;
/** Transaction control: Tenantry runs each tenant's migrations in its own transaction. */
const CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release)\b/i;
const READ_METHODS = new Set(['select', 'first', 'pluck', 'columnInfo']);

/** Knex's query object, as a client's `query()` receives it. */
interface QueryObject {
  sql: string;
  bindings?: readonly unknown[];
  method?: string;
  returning?: unknown;
  output?: unknown;
  response?: unknown;
}

interface Recorder {
  record(statement: string): void;
}

let recordingClientClass: typeof Knex.Client | undefined;

/**
 * Knex's PostgreSQL client that records every statement instead of sending it, bindings written
 * as literals the way Knex's `toQuery()` writes them.
 */
function recordingClient(): typeof Knex.Client {
  if (recordingClientClass === undefined) {
    const Base = knexPgClient();
    class RecordingPgClient extends Base {
      override acquireConnection(): Promise<object> {
        return Promise.resolve({});
      }

      override releaseConnection(): Promise<void> {
        return Promise.resolve();
      }

      override query(_connection: unknown, param: string | QueryObject): Promise<QueryObject> {
        const obj: QueryObject = typeof param === 'string' ? { sql: param } : param;
        const recorder = (this.config as Record<string, unknown>)[CONNECTIONS] as Recorder;
        const sql = obj.sql.trim();
        const answer = (): Promise<QueryObject> =>
          Promise.resolve(Object.assign(obj, { response: { command: 'RECORDED', rowCount: 0, rows: [], fields: [] } }));
        if (CONTROL.test(sql)) return answer();
        if (READ_METHODS.has(obj.method ?? '') || obj.output !== undefined || READ.test(sql)) {
          return Promise.reject(
            new Error(
              `it reads from the database while being recorded (${sql.slice(0, 120)}); Tenantry turns Knex migrations into SQL once, without a database: no hasTable()/hasColumn(), no select whose result the migration uses (run a function for its effect with knex.raw('do $$ begin perform …; end $$'))`,
            ),
          );
        }
        if (obj.returning !== undefined) {
          return Promise.reject(
            new Error(
              `it uses what a statement returns (${sql.slice(0, 120)}); a migration is recorded without a database: drop returning()`,
            ),
          );
        }
        try {
          recorder.record(format(this, sql, this.prepBindings(obj.bindings) as readonly unknown[] | undefined).replace(/;+\s*$/, ''));
        } catch (err) {
          return Promise.reject(err as Error);
        }
        return answer();
      }
    }
    recordingClientClass = RecordingPgClient;
  }
  return recordingClientClass;
}

/** Knex's own formatting of `?` bindings (`toQuery()`): `\?` is a literal question mark. */
function format(client: Knex.Client, sql: string, bindings: readonly unknown[] | undefined): string {
  if (bindings === undefined || bindings.length === 0) return sql.replace(/\\\?/g, '?');
  const escape = (client as unknown as { _escapeBinding(value: unknown, context: object): string })._escapeBinding;
  let index = 0;
  return sql.replace(/\\?\?/g, (match) => {
    if (match === '\\?') return '?';
    if (index === bindings.length) return match;
    return escape.call(client, bindings[index++], {});
  });
}

/** Runs `step` with a Knex that records its statements; returns them as one script. */
async function record(options: KnexTenancyOptions, step: (k: Knex) => PromiseLike<unknown> | unknown): Promise<string> {
  const statements: string[] = [];
  const recorder: Recorder = { record: (s) => statements.push(s) };
  const k = knex({ ...options, client: recordingClient(), [CONNECTIONS]: recorder } as Knex.Config);
  await step(k);
  return statements.filter((s) => s.length > 0).join('\n;\n');
}

/** Knex's file-system source: files of `directories` with `extensions`, sorted by file name. */
function folderSource(directories: readonly string[]): Knex.MigrationSource<{ file: string; path: string }> {
  return {
    async getMigrations(extensions) {
      const found: { file: string; path: string }[] = [];
      for (const dir of directories) {
        const path = resolve(dir);
        let files: string[];
        try {
          files = await readdir(path);
        } catch (err) {
          throw migrationInvalid(`cannot read the Knex migrations folder ${path}: ${(err as Error).message}`, undefined, err);
        }
        for (const file of files) if (extensions.includes(extname(file))) found.push({ file, path: join(path, file) });
      }
      return found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    },
    getMigrationName: (m) => m.file,
    async getMigration(m) {
      const mod = (await import(pathToFileURL(m.path).href)) as Partial<KnexMigration> & { default?: Partial<KnexMigration> };
      return (typeof mod.up === 'function' ? mod : (mod.default ?? mod)) as Knex.Migration;
    },
  };
}

/**
 * Knex migration files (`exports.up = (knex) => knex.schema.createTable(…)`) as Tenantry's
 * migration source: Tenantry applies them to every tenant (at create, and with
 * `tenancy.migrate()`), in the tenant's transaction, with its own per-tenant ledger — Knex's
 * `knex_migrations` table is not used.
 *
 * How: when the source is loaded, each migration's `up` (and `down`) runs once against a
 * *recording* Knex — Knex's real PostgreSQL client, whose `query()` records each statement
 * instead of sending it, bindings written as literals the way Knex's `toQuery()` writes them.
 * The statements become the migration's SQL (what the checksum covers), which Tenantry runs in
 * each tenant with the tenant's schema as the search_path, so unqualified names land in the
 * tenant, never in `public`. Names are file names without their extension
 * (`20240101120000_create_users`), in file-name order, as Knex sorts them.
 *
 * Limits (refused with `MIGRATION_INVALID` when the source loads): a migration must not read from
 * the database (`hasTable()`, `hasColumn()`, a select or `returning()` whose result it uses); a
 * `down` that reads is left out (rollback reports it irreversible);
 * `exports.config = { transaction: false }` is refused (each tenant migrates in one transaction). In a package with
 * `"type": "module"`, CommonJS migrations (`exports.up = …`) must be named `.cjs`.
 *
 * @example
 * ```ts
 * const tenancy = await createTenancy({ registryUrl, migrations: knexMigrations('./migrations') });
 * ```
 */
export function knexMigrations(options: string | readonly string[] | KnexMigrationsOptions): MigrationSource {
  const opts: KnexMigrationsOptions =
    typeof options === 'string' || Array.isArray(options)
      ? { directory: options as string | readonly string[] }
      : (options as KnexMigrationsOptions);
  if (opts === null || typeof opts !== 'object' || (opts.directory === undefined) === (opts.migrationSource === undefined)) {
    throw migrationInvalid(
      "knexMigrations() takes a folder of Knex migrations, e.g. knexMigrations('./migrations'), or { migrationSource }",
    );
  }
  const directories = opts.directory === undefined ? [] : typeof opts.directory === 'string' ? [opts.directory] : [...opts.directory];
  const source = opts.migrationSource ?? folderSource(directories);
  const extensions = opts.loadExtensions ?? DEFAULT_EXTENSIONS;
  const description =
    directories.length > 0 ? `Knex migrations in ${directories.map((d) => resolve(d)).join(', ')}` : 'a Knex migration source';
  let loaded: Promise<readonly Migration[]> | undefined;
  return {
    description,
    load() {
      loaded ??= build(source, extensions, opts.knexOptions ?? {}).catch((err: unknown) => {
        loaded = undefined;
        throw err;
      });
      return loaded;
    },
  };
}

async function build(
  source: Knex.MigrationSource<unknown>,
  extensions: readonly string[],
  options: KnexTenancyOptions,
): Promise<readonly Migration[]> {
  const specs = await source.getMigrations(extensions);
  const result: Migration[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    const file = source.getMigrationName(spec);
    const ext = extname(file);
    const name = extensions.includes(ext) ? file.slice(0, -ext.length) : file;
    if (seen.has(name)) throw migrationInvalid(`duplicate Knex migration '${name}'`, name);
    seen.add(name);
    let migration: KnexMigration;
    try {
      migration = (await source.getMigration(spec)) as KnexMigration;
    } catch (err) {
      throw migrationInvalid(
        `cannot load Knex migration '${file}': ${(err as Error).message}${/exports is not defined/.test(String(err)) ? ' (a CommonJS migration in an ES module package: name it .cjs)' : ''}`,
        name,
        err,
      );
    }
    if (migration === null || typeof migration !== 'object' || typeof migration.up !== 'function') {
      const hint = file.endsWith('.js')
        ? ' (CommonJS `exports.up = …` in a package with "type": "module" is loaded as an ES module: name the file .cjs)'
        : '';
      throw migrationInvalid(`Knex migration '${file}' exports no up(knex) function${hint}`, name);
    }
    if (migration.config?.transaction === false) {
      throw migrationInvalid(
        `Knex migration '${file}' sets config.transaction = false; Tenantry applies each tenant's migrations in one transaction (statements such as CREATE INDEX CONCURRENTLY cannot run there)`,
        name,
      );
    }
    let up: string;
    try {
      up = await record(options, (k) => migration.up(k));
    } catch (err) {
      throw migrationInvalid(`cannot record Knex migration '${file}': ${(err as Error).message}`, name, err);
    }
    if (up.length === 0) up = `-- ${name}: no statement`;
    let down: string | undefined;
    if (typeof migration.down === 'function') {
      const fn = migration.down.bind(migration);
      down = await record(options, (k) => fn(k)).catch(() => undefined); // A down that reads: irreversible.
    }
    result.push(
      Object.freeze(
        down === undefined || down.length === 0 ? { name, up, checksum: checksum(up) } : { name, up, down, checksum: checksum(up) },
      ),
    );
  }
  return result;
}
