import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path, { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// A value import only: the declarations below stand for kysely/migration's types in our .d.ts,
// which TypeScript's node10 resolution (module: commonjs) cannot follow (kysely maps no subpath types).
import { FileMigrationProvider } from 'kysely/migration';
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type KyselyPlugin,
  type QueryResult,
} from 'kysely';
import { checksum, migrationInvalid, type Migration, type MigrationSource } from '@tenantry/core';
import { sqlTokens } from '@tenantry/core/adapter';

/** A Kysely migration, as `kysely/migration`'s `Migration` declares it. */
export interface KyselyMigration {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  up(db: Kysely<any>): Promise<void>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  down?(db: Kysely<any>): Promise<void>;
}

/** Kysely's `MigrationProvider` (the `Migrator` option `provider`), structurally. */
export interface MigrationProvider {
  getMigrations(): Promise<Record<string, KyselyMigration>>;
}

/** Options of {@link kyselyMigrations}: exactly one of `migrationFolder`, `provider`, `migrations`. */
export interface KyselyMigrationsOptions {
  /**
   * Folder(s) of Kysely migration files (`export async function up(db: Kysely<any>)`), read as
   * Kysely's `FileMigrationProvider` reads them; several folders are sorted together.
   */
  readonly migrationFolder?: string | readonly string[];
  /** A Kysely `MigrationProvider` (Kysely's `Migrator` option `provider`). */
  readonly provider?: MigrationProvider;
  /** Migrations by name, as a `MigrationProvider` returns them. */
  readonly migrations?: Readonly<Record<string, KyselyMigration>>;
  /** Order of migration names, as Kysely's `Migrator` option `nameComparator`. Default `a.localeCompare(b)`, Kysely's. */
  readonly nameComparator?: (a: string, b: string) => number;
  /** The application's Kysely plugins that shape SQL (`CamelCasePlugin`…), as given to `kyselyTenancy()`. */
  readonly plugins?: KyselyPlugin[];
}

const require = createRequire(import.meta.url);
/** pg's conversion of a parameter to its text form (Date, Buffer, arrays, objects, toPostgres). */
const prepareValue = (require('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown }).prepareValue;

/** Statements that read: their result cannot be recorded. */
const READ = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*(select|with|show|table|values|explain|fetch)\b/i;
/** Transaction control: Tenantry runs each tenant's migrations in its own transaction. */
const CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release)\b/i;
const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);

/** An SQL literal of a parameter's text form, as pg would send it (an untyped value). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const prepared = prepareValue(value);
  if (prepared === null || prepared === undefined) return 'NULL';
  const text = Buffer.isBuffer(prepared) ? `\\x${prepared.toString('hex')}` : String(prepared);
  const body = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/**
 * Replaces the placeholders `$1`, `$2`… of `sql` with literals, outside string literals,
 * quoted identifiers, comments and dollar-quoted bodies.
 */
function inlineParameters(sql: string, params: readonly unknown[]): string {
  let out = '';
  let before = '';
  for (const t of sqlTokens(sql)) {
    out +=
      t.kind !== 'code'
        ? t.text
        : t.text.replace(/\$(\d+)/g, (placeholder: string, digits: string, at: number) => {
            if (/[\w$]/.test(at === 0 ? before : t.text[at - 1]!)) return placeholder; // `x$1`: part of a name
            const index = Number(digits) - 1;
            if (index < 0 || index >= params.length)
              throw new Error(`the statement uses $${index + 1} but only ${params.length} parameter(s) were given`);
            return literal(params[index]);
          });
    before = t.text.at(-1) ?? before;
  }
  return out;
}

/** A connection that records each statement instead of sending it. */
class RecordingConnection implements DatabaseConnection {
  readonly statements: string[] = [];

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    try {
      this.#record(compiled);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return Promise.resolve({ rows: [], numAffectedRows: 0n });
  }

  #record(compiled: CompiledQuery): void {
    const sql = compiled.sql.trim();
    const node = compiled.query as { kind: string; returning?: unknown };
    if (node.kind === 'RawNode' && CONTROL.test(sql)) return;
    if (node.kind === 'SelectQueryNode' || (node.kind === 'RawNode' && READ.test(sql))) {
      throw new Error(
        `it reads from the database while being recorded (${sql.slice(0, 120)}); Tenantry turns Kysely migrations into SQL once, without a database: no db.introspection, no select whose result the migration uses (run a function for its effect with sql\`do $$ begin perform …; end $$\`.execute(db))`,
      );
    }
    if (WRITES.has(node.kind) && node.returning !== undefined) {
      throw new Error(
        `it uses what a statement returns (${sql.slice(0, 120)}); a migration is recorded without a database: drop returning()`,
      );
    }
    const text = compiled.parameters.length > 0 ? inlineParameters(sql, compiled.parameters) : sql;
    const statement = text.replace(/;+\s*$/, '');
    if (statement.length > 0) this.statements.push(statement);
  }

  // eslint-disable-next-line require-yield -- a recorded migration cannot read, so streams refuse before their first row
  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    throw new Error(`it streams a query while being recorded (${compiled.sql.slice(0, 120)}); a migration is recorded without a database`);
  }
}

/** Kysely's PostgreSQL dialect whose one connection is a {@link RecordingConnection}. */
function recordingDialect(connection: RecordingConnection): Dialect {
  const noop = (): Promise<void> => Promise.resolve();
  const driver: Driver = {
    init: noop,
    acquireConnection: () => Promise.resolve(connection),
    beginTransaction: noop,
    commitTransaction: noop,
    rollbackTransaction: noop,
    savepoint: noop,
    rollbackToSavepoint: noop,
    releaseSavepoint: noop,
    releaseConnection: noop,
    destroy: noop,
  };
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

/** The database type Kysely's `Migration.up(db: Kysely<any>)` takes. */
type AnyKysely = Parameters<KyselyMigration['up']>[0];
type AnyDatabase = AnyKysely extends Kysely<infer DB> ? DB : never;

/** Runs `step` with a Kysely that records its statements; returns them as one script. */
async function record(plugins: KyselyPlugin[] | undefined, step: (db: AnyKysely) => Promise<unknown>): Promise<string> {
  const connection = new RecordingConnection();
  const db = new Kysely<AnyDatabase>(
    plugins === undefined ? { dialect: recordingDialect(connection) } : { dialect: recordingDialect(connection), plugins },
  );
  await step(db);
  return connection.statements.join('\n;\n');
}

/** Kysely's `FileMigrationProvider` over the folders; a file that is not a migration is an error, not skipped. */
function folderProvider(folders: readonly string[]): MigrationProvider {
  return {
    async getMigrations() {
      const all: Record<string, KyselyMigration> = {};
      for (const folder of folders) {
        const migrationFolder = resolve(folder);
        const notMigrations: string[] = [];
        const provider = new FileMigrationProvider({
          fs,
          path,
          migrationFolder,
          import: (file) => import(pathToFileURL(file).href),
          onFileIgnored: (file, reason) => {
            if (reason !== 'Extension') notMigrations.push(file);
          },
        });
        let found: Record<string, KyselyMigration>;
        try {
          found = await provider.getMigrations();
        } catch (err) {
          const message = (err as Error).message;
          const hint = /Unknown file extension "\.[cm]?ts"/.test(message)
            ? ' (TypeScript migrations need a TypeScript loader at run time: point kyselyMigrations() at the compiled .js folder)'
            : /exports is not defined/.test(message)
              ? ' (a CommonJS migration in an ES module package: name it .cjs)'
              : '';
          throw migrationInvalid(`cannot read the Kysely migrations in ${migrationFolder}: ${message}${hint}`, undefined, err);
        }
        if (notMigrations.length > 0)
          throw migrationInvalid(`Kysely migration file '${notMigrations[0]}' in ${migrationFolder} exports no up(db) function`);
        for (const [name, migration] of Object.entries(found)) {
          if (name in all) throw migrationInvalid(`duplicate Kysely migration '${name}'`, name);
          all[name] = migration;
        }
      }
      return all;
    },
  };
}

/**
 * Kysely migrations (`export async function up(db: Kysely<any>)`, `down`) as Tenantry's migration
 * source: Tenantry applies them to every tenant (at create, and with `tenancy.migrate()`), in the
 * tenant's transaction, with its own per-tenant ledger — Kysely's `kysely_migration` tables are
 * not used.
 *
 * How: when the source is loaded, each migration's `up` (and `down`) runs once against a
 * *recording* Kysely — Kysely's own PostgreSQL query compiler, whose connection records each
 * compiled statement instead of sending it, parameters written as literals. The statements
 * become the migration's SQL (what the checksum covers), which Tenantry runs in each tenant with
 * the tenant's schema first on the search_path, so unqualified names land in the tenant, never in
 * `public`. Names are file names without their extension, ordered as Kysely's `Migrator` orders
 * them (`localeCompare`, or `nameComparator`).
 *
 * Limits (refused with `MIGRATION_INVALID` when the source loads): a migration must not read from
 * the database (`db.introspection`, a select, `returning()`); a `down` that reads is left out
 * (rollback reports it irreversible). `withSchema()` would leave the tenant: write names
 * unqualified.
 *
 * @example
 * ```ts
 * const tenancy = await createTenancy({ registryUrl, migrations: kyselyMigrations('./dist/migrations') });
 * // or: kyselyMigrations({ migrations: { '0001_create_posts': { up: async (db) => { … } } } })
 * ```
 */
export function kyselyMigrations(options: string | readonly string[] | KyselyMigrationsOptions): MigrationSource {
  const opts: KyselyMigrationsOptions =
    typeof options === 'string' || Array.isArray(options)
      ? { migrationFolder: options as string | readonly string[] }
      : (options as KyselyMigrationsOptions);
  const given =
    opts === null || typeof opts !== 'object'
      ? 0
      : [opts.migrationFolder, opts.provider, opts.migrations].filter((o) => o !== undefined && o !== null).length;
  if (given !== 1) {
    throw migrationInvalid(
      "kyselyMigrations() takes a folder of Kysely migrations, e.g. kyselyMigrations('./dist/migrations'), or one of { migrationFolder }, { provider }, { migrations }",
    );
  }
  const folders =
    opts.migrationFolder === undefined ? [] : typeof opts.migrationFolder === 'string' ? [opts.migrationFolder] : [...opts.migrationFolder];
  const migrations = opts.migrations;
  const provider: MigrationProvider =
    opts.provider ?? (migrations !== undefined ? { getMigrations: () => Promise.resolve({ ...migrations }) } : folderProvider(folders));
  const description =
    folders.length > 0
      ? `Kysely migrations in ${folders.map((d) => resolve(d)).join(', ')}`
      : opts.provider !== undefined
        ? 'a Kysely migration provider'
        : 'Kysely migrations';
  let loaded: Promise<readonly Migration[]> | undefined;
  return {
    description,
    load() {
      loaded ??= build(provider, opts.nameComparator ?? ((a, b) => a.localeCompare(b)), opts.plugins).catch((err: unknown) => {
        loaded = undefined;
        throw err;
      });
      return loaded;
    },
  };
}

async function build(
  provider: MigrationProvider,
  compare: (a: string, b: string) => number,
  plugins: KyselyPlugin[] | undefined,
): Promise<readonly Migration[]> {
  let found: Record<string, KyselyMigration>;
  try {
    found = await provider.getMigrations();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'MIGRATION_INVALID') throw err;
    throw migrationInvalid(`cannot load the Kysely migrations: ${(err as Error).message}`, undefined, err);
  }
  const result: Migration[] = [];
  for (const name of Object.keys(found).sort(compare)) {
    const migration = found[name];
    if (migration === null || typeof migration !== 'object' || typeof migration.up !== 'function')
      throw migrationInvalid(`Kysely migration '${name}' has no up(db) function`, name);
    let up: string;
    try {
      up = await record(plugins, (db) => migration.up(db));
    } catch (err) {
      throw migrationInvalid(`cannot record Kysely migration '${name}': ${(err as Error).message}`, name, err);
    }
    if (up.length === 0) up = `-- ${name}: no statement`;
    let down: string | undefined;
    if (typeof migration.down === 'function') {
      const fn = migration.down.bind(migration);
      down = await record(plugins, (db) => fn(db)).catch(() => undefined); // A down that reads: irreversible.
    }
    result.push(
      Object.freeze(
        down === undefined || down.length === 0 ? { name, up, checksum: checksum(up) } : { name, up, down, checksum: checksum(up) },
      ),
    );
  }
  return result;
}
