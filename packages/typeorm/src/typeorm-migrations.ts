import { createRequire } from 'node:module';
import { DataSource, QueryResult, type DataSourceOptions, type MigrationInterface, type QueryRunner } from 'typeorm';
import { checksum, migrationInvalid, type Migration, type MigrationSource } from '@tenantry/core';
import { sqlTokens } from '@tenantry/core/adapter';

const require = createRequire(import.meta.url);
/** pg's conversion of a parameter to its text form (Date, Buffer, arrays, objects, toPostgres). */
const prepareValue = (require('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown }).prepareValue;

/** A TypeORM migration class, or an instance of one. */
export type TypeormMigration = (new () => MigrationInterface) | MigrationInterface;

/** Options of {@link typeormMigrations}. */
export interface TypeormMigrationsOptions {
  /** Migration classes (or instances), or glob paths of migration files as TypeORM's `migrations` option takes them. */
  readonly migrations: readonly (TypeormMigration | string)[];
  /**
   * The application's DataSource (not initialized), for its naming strategy, entities and
   * options such as `uuidExtension`, which shape the SQL of TypeORM's schema-builder calls.
   */
  readonly dataSource?: DataSource;
  /** The PostgreSQL version the SQL is written for. Default `14`. */
  readonly serverVersion?: string;
}

const READ = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*(select|with|show|table|values|explain|fetch)\b/i;

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
export function inlineParameters(sql: string, params: readonly unknown[]): string {
  let out = '';
  let before = '';
  for (const t of sqlTokens(sql)) {
    out +=
      t.kind !== 'code'
        ? t.text
        : t.text.replace(/\$(\d+)/g, (placeholder: string, digits: string, at: number) => {
            // `x$1` or `$$1` is part of a name, not a placeholder.
            if (/[\w$]/.test(at === 0 ? before : t.text[at - 1]!)) return placeholder;
            const index = Number(digits) - 1;
            if (index < 0 || index >= params.length)
              throw new Error(`the statement uses $${index + 1} but only ${params.length} parameter(s) were given`);
            return literal(params[index]);
          });
    before = t.text.at(-1) ?? before;
  }
  return out;
}

/**
 * Runs `step` against a query runner that records every statement instead of sending it, and
 * returns them as one script. Statements that read (introspection such as `hasTable()`, or a
 * migration's own `SELECT`) cannot be answered without a database and are refused.
 */
async function record(dataSource: DataSource, step: (runner: QueryRunner) => Promise<unknown>): Promise<string[]> {
  const runner = dataSource.driver.createQueryRunner('master');
  const statements: string[] = [];
  const query = async (sql: string, parameters?: unknown[], structured = false): Promise<unknown> => {
    if (READ.test(sql)) {
      throw new Error(
        `it reads from the database while being recorded (${sql.trim().slice(0, 120)}); Tenantry turns TypeORM migrations into SQL once, without a database: write statements with queryRunner.query() (as \`typeorm migration:generate\` does), and pass Table objects rather than names to the schema-builder calls`,
      );
    }
    const text = parameters !== undefined && parameters.length > 0 ? inlineParameters(sql, parameters) : sql;
    statements.push(text.trim().replace(/;+\s*$/, ''));
    return structured ? new QueryResult() : [];
  };
  Object.assign(runner, { query, connect: async () => ({}), release: async () => undefined });
  Object.assign(runner, { manager: dataSource.createEntityManager(runner) });
  await step(runner);
  return statements.filter((s) => s.length > 0);
}

function script(statements: readonly string[]): string {
  return statements.join('\n;\n');
}

function nameOf(migration: MigrationInterface): string {
  return migration.name ?? migration.constructor.name;
}

/**
 * TypeORM migration classes as Tenantry's migration source: Tenantry applies them to every
 * tenant (at create, and with `tenancy.migrate()`), in the tenant's transaction, with its own
 * per-tenant ledger — TypeORM's `migrations` table is not used.
 *
 * How: when the source is loaded, each migration's `up` (and `down`) runs once against a
 * recording query runner; the statements it issues become the migration's SQL, which Tenantry
 * runs in each tenant with the tenant's schema as the search_path — so unqualified names (and
 * the raw SQL of `queryRunner.query()`) land in the tenant, never in `public`. The SQL is
 * also what the checksum covers.
 *
 * Limits: a migration must not read from the database (no `hasTable()`, `getTable()`, by-name
 * schema-builder calls such as `dropTable('posts')`, or `SELECT`s whose result it uses); a
 * `down` that reads is left out (rollback then reports it irreversible). `transaction = false`
 * migrations are refused: each tenant migrates in one transaction.
 *
 * @example
 * ```ts
 * const tenancy = await createTenancy({
 *   registryUrl,
 *   migrations: typeormMigrations({ migrations: [CreatePosts1700000000000], dataSource }),
 * });
 * ```
 */
export function typeormMigrations(options: TypeormMigrationsOptions): MigrationSource {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.migrations)) {
    throw migrationInvalid('typeormMigrations() takes { migrations: [MigrationClass, …] }');
  }
  const description = `TypeORM migrations (${options.migrations.map((m) => (typeof m === 'string' ? m : typeof m === 'function' ? m.name : nameOf(m))).join(', ')})`;
  let loaded: Promise<readonly Migration[]> | undefined;
  return {
    description,
    load() {
      loaded ??= build(options).catch((err: unknown) => {
        loaded = undefined;
        throw err;
      });
      return loaded;
    },
  };
}

async function build(options: TypeormMigrationsOptions): Promise<readonly Migration[]> {
  const base = (options.dataSource?.options ?? { type: 'postgres' }) as DataSourceOptions;
  if (base.type !== 'postgres') throw migrationInvalid(`typeormMigrations() needs a DataSource of type 'postgres', not '${base.type}'`);
  const { schema: _schema, ...rest } = base;
  const dataSource = new DataSource({
    ...rest,
    subscribers: [],
    migrations: [...options.migrations] as DataSourceOptions['migrations'],
  } as DataSourceOptions);
  if (options.dataSource) Object.assign(dataSource, { namingStrategy: options.dataSource.namingStrategy });
  const driver = dataSource.driver as unknown as { version?: string; isGeneratedColumnsSupported: boolean };
  driver.version = options.serverVersion ?? '14.0';
  driver.isGeneratedColumnsSupported = true;
  try {
    await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  } catch (err) {
    throw migrationInvalid(`cannot load the TypeORM migrations: ${(err as Error).message}`, undefined, err);
  }
  const list = dataSource.migrations.map((migration) => {
    const name = nameOf(migration);
    const timestamp = Number.parseInt(name.slice(-13), 10);
    if (!/\d{13}$/.test(name) || !Number.isFinite(timestamp)) {
      throw migrationInvalid(
        `TypeORM migration '${name}' has no timestamp at the end of its name (e.g. CreatePosts1700000000000), which orders migrations`,
        name,
      );
    }
    return { migration, name, timestamp };
  });
  list.sort((a, b) => a.timestamp - b.timestamp);
  const result: Migration[] = [];
  const seen = new Set<string>();
  for (const { migration, name } of list) {
    if (seen.has(name)) throw migrationInvalid(`duplicate TypeORM migration '${name}'`, name);
    seen.add(name);
    if (migration.transaction === false) {
      throw migrationInvalid(
        `TypeORM migration '${name}' sets transaction = false; Tenantry applies each tenant's migrations in one transaction (statements such as CREATE INDEX CONCURRENTLY cannot run there)`,
        name,
      );
    }
    let up: string;
    try {
      up = script(await record(dataSource, (runner) => migration.up(runner)));
    } catch (err) {
      throw migrationInvalid(`cannot record TypeORM migration '${name}': ${(err as Error).message}`, name, err);
    }
    if (up.length === 0) up = `-- ${name}: no statement`;
    let down: string | undefined;
    try {
      down = script(await record(dataSource, (runner) => migration.down(runner)));
    } catch {
      down = undefined; // A down that reads cannot be recorded: rollback reports it irreversible.
    }
    result.push(
      Object.freeze(
        down === undefined || down.length === 0 ? { name, up, checksum: checksum(up) } : { name, up, down, checksum: checksum(up) },
      ),
    );
  }
  return result;
}
