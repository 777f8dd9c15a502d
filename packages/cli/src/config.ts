import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IsolationKind, MigrationSource, PoolOptions, TenancyOptions } from '@tenantry/core';
import { ConfigError } from './command.js';

/**
 * What `tenantry.config.json` (or the default export of `tenantry.config.js`) may hold.
 * Relative folders are resolved from the config file's own folder.
 *
 * @example
 * ```ts
 * // tenantry.config.js
 * export default { registryUrl: process.env.DATABASE_URL, migrations: './migrations', pool: { max: 12 } };
 * ```
 */
export interface CliConfigFile {
  /** URL of the registry database. */
  readonly registryUrl?: string;
  /** Folder of `NNNN_name.sql` tenant migrations, or (in a .js config) a MigrationSource. */
  readonly migrations?: string | MigrationSource;
  /** Folder of seed files, or (in a .js config) a MigrationSource. */
  readonly seeds?: string | MigrationSource;
  /** Folder of shared migrations (`tenantry migrate --shared`), or (in a .js config) a MigrationSource. */
  readonly sharedMigrations?: string | MigrationSource;
  /** The shared tables' schema. Default `shared`. */
  readonly sharedSchema?: string;
  /** Pool settings; `pool.max - 1` bounds `migrate --concurrency`. */
  readonly pool?: PoolOptions;
  /** Isolation of new tenants unless `tenants create --isolation` says otherwise. Default `schema`. */
  readonly defaultIsolation?: IsolationKind;
  /** `application_name` of the CLI's connections. Default `tenantry-cli`. */
  readonly applicationName?: string;
}

/** Where a setting came from. */
export type SettingSource = 'flag' | 'config file' | 'environment';

/** The configuration a command runs with. */
export interface ResolvedConfig {
  readonly registryUrl: string | undefined;
  readonly migrations: string | MigrationSource | undefined;
  readonly seeds: string | MigrationSource | undefined;
  readonly sharedMigrations: string | MigrationSource | undefined;
  readonly sharedSchema: string | undefined;
  readonly pool: PoolOptions | undefined;
  readonly defaultIsolation: IsolationKind | undefined;
  readonly applicationName: string;
  /** Key of the encrypted server URLs: `TENANTRY_ENCRYPTION_KEY` (never from a file). */
  readonly encryptionKey: string | undefined;
  /** The config file read, if any. */
  readonly file: string | undefined;
  readonly sources: Readonly<Record<'registryUrl' | 'migrations' | 'seeds', SettingSource | undefined>>;
}

/** The flags that override the configuration. */
export interface ConfigFlags {
  readonly config?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly migrations?: string | undefined;
  readonly seeds?: string | undefined;
}

const FILE_NAMES = ['tenantry.config.json', 'tenantry.config.js'] as const;
const KEYS = [
  'registryUrl',
  'migrations',
  'seeds',
  'sharedMigrations',
  'sharedSchema',
  'pool',
  'defaultIsolation',
  'applicationName',
] as const;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function findFile(cwd: string, flag: string | undefined, fromEnv: string | undefined): Promise<string | undefined> {
  const explicit = flag ?? fromEnv;
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!(await exists(path)))
      throw new ConfigError(
        `config file ${path} (from ${flag === undefined ? 'TENANTRY_CONFIG' : '--config'}) does not exist${
          flag === undefined ? '; with `npm start`, its banner names the file it writes (start it first)' : ''
        }`,
      );
    return path;
  }
  const found: string[] = [];
  for (const name of FILE_NAMES) {
    const path = resolve(cwd, name);
    if (await exists(path)) found.push(path);
  }
  if (found.length > 1) throw new ConfigError(`both ${FILE_NAMES.join(' and ')} are in ${cwd}; keep one, or pick one with --config <path>`);
  return found[0];
}

async function readFileConfig(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  if (path.endsWith('.json')) {
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
    }
  } else {
    try {
      value = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    } catch (err) {
      throw new ConfigError(`cannot load ${path}: ${(err as Error).message}`);
    }
    if (value === undefined)
      throw new ConfigError(`${path} has no default export; write \`export default { registryUrl: …, migrations: './migrations' }\``);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(`${path} must hold an object, e.g. { "registryUrl": "postgres://…", "migrations": "./migrations" }`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(KEYS as readonly string[]).includes(key))
      throw new ConfigError(`unknown key '${key}' in ${path}; known keys: ${KEYS.join(', ')}`);
  }
  return record;
}

function folderOrSource(value: unknown, key: string, base: string, path: string): string | MigrationSource | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return isAbsolute(value) ? value : resolve(base, value);
  if (typeof value === 'object' && typeof (value as { load?: unknown }).load === 'function') return value as MigrationSource;
  throw new ConfigError(`'${key}' in ${path} must be a folder path (or, in a .js config, a MigrationSource)`);
}

function optionalString(value: unknown, key: string, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ConfigError(`'${key}' in ${path} must be a string`);
  return value;
}

/**
 * Reads the configuration. Precedence, highest first: flags, the config file
 * (`--config <path>`, else `TENANTRY_CONFIG`, else `tenantry.config.json` or `tenantry.config.js` in `cwd`), then the
 * environment (`DATABASE_URL`, `TENANTRY_MIGRATIONS`, `TENANTRY_SEEDS`, `TENANTRY_SHARED_MIGRATIONS`). The key of encrypted
 * server URLs comes from `TENANTRY_ENCRYPTION_KEY` only, never from a file.
 */
export async function loadConfig(flags: ConfigFlags, cwd: string, env: NodeJS.ProcessEnv): Promise<ResolvedConfig> {
  const file = await findFile(cwd, flags.config, env['TENANTRY_CONFIG'] || undefined);
  const fromFile = file === undefined ? {} : await readFileConfig(file);
  const base = file === undefined ? cwd : dirname(file);
  const where = file ?? '';
  const pool = fromFile['pool'];
  const isolation = fromFile['defaultIsolation'];
  if (isolation !== undefined && isolation !== 'schema' && isolation !== 'database')
    throw new ConfigError(`'defaultIsolation' in ${where} must be "schema" or "database"`);
  if (pool !== undefined && (pool === null || typeof pool !== 'object' || Array.isArray(pool)))
    throw new ConfigError(`'pool' in ${where} must be an object, e.g. { "max": 12 }`);

  const pick = <T>(flag: T | undefined, fileValue: T | undefined, envValue: T | undefined): [T | undefined, SettingSource | undefined] => {
    if (flag !== undefined) return [flag, 'flag'];
    if (fileValue !== undefined) return [fileValue, 'config file'];
    if (envValue !== undefined) return [envValue, 'environment'];
    return [undefined, undefined];
  };
  const envFolder = (name: string): string | undefined => (env[name] ? resolve(cwd, env[name]) : undefined);
  const flagFolder = (value: string | undefined): string | undefined => (value === undefined ? undefined : resolve(cwd, value));

  const [registryUrl, urlSource] = pick(
    flags.databaseUrl,
    optionalString(fromFile['registryUrl'], 'registryUrl', where),
    env['DATABASE_URL'] || undefined,
  );
  const [migrations, migrationsSource] = pick(
    flagFolder(flags.migrations),
    folderOrSource(fromFile['migrations'], 'migrations', base, where),
    envFolder('TENANTRY_MIGRATIONS'),
  );
  const [seeds, seedsSource] = pick(
    flagFolder(flags.seeds),
    folderOrSource(fromFile['seeds'], 'seeds', base, where),
    envFolder('TENANTRY_SEEDS'),
  );
  const [sharedMigrations] = pick(
    undefined,
    folderOrSource(fromFile['sharedMigrations'], 'sharedMigrations', base, where),
    envFolder('TENANTRY_SHARED_MIGRATIONS'),
  );
  return Object.freeze({
    registryUrl,
    migrations,
    seeds,
    sharedMigrations,
    sharedSchema: optionalString(fromFile['sharedSchema'], 'sharedSchema', where),
    pool: pool as PoolOptions | undefined,
    defaultIsolation: isolation as IsolationKind | undefined,
    applicationName: optionalString(fromFile['applicationName'], 'applicationName', where) ?? 'tenantry-cli',
    encryptionKey: env['TENANTRY_ENCRYPTION_KEY'] || undefined,
    file,
    sources: Object.freeze({ registryUrl: urlSource, migrations: migrationsSource, seeds: seedsSource }),
  });
}

/** The options `createTenancy()` gets. Throws a {@link ConfigError} saying how to set the registry URL when it is missing. */
export function tenancyOptions(config: ResolvedConfig): TenancyOptions {
  if (config.registryUrl === undefined) {
    throw new ConfigError(
      'no registry database URL: set DATABASE_URL, pass --database-url <url>, or put "registryUrl" in tenantry.config.json (e.g. postgres://user:password@localhost:5432/app)',
    );
  }
  return {
    registryUrl: config.registryUrl,
    ...(config.migrations === undefined ? {} : { migrations: config.migrations }),
    ...(config.seeds === undefined ? {} : { seeds: config.seeds }),
    ...(config.sharedMigrations === undefined ? {} : { sharedMigrations: config.sharedMigrations }),
    ...(config.sharedSchema === undefined ? {} : { sharedSchema: config.sharedSchema }),
    ...(config.pool === undefined ? {} : { pool: config.pool }),
    ...(config.defaultIsolation === undefined ? {} : { defaultIsolation: config.defaultIsolation }),
    ...(config.encryptionKey === undefined ? {} : { encryptionKey: config.encryptionKey }),
    applicationName: config.applicationName,
    // A short-lived process: no LISTEN connection; it reads the registry directly.
    listen: false,
    // Commands do what they say and no more: only `tenantry doctor --fix` reconciles.
    reconcileOnStart: false,
  };
}

/** Fails with a message saying how to configure migrations, for the commands that need them. */
export function requireMigrations(config: ResolvedConfig): void {
  if (config.migrations === undefined) {
    throw new ConfigError(
      'no migrations configured: set TENANTRY_MIGRATIONS, pass --migrations <dir>, or put "migrations" in tenantry.config.json',
    );
  }
}

/** Fails with a message saying how to configure seeds, for `tenantry seed`. */
export function requireSeeds(config: ResolvedConfig): void {
  if (config.seeds === undefined) {
    throw new ConfigError('no seeds configured: set TENANTRY_SEEDS, pass --seeds <dir>, or put "seeds" in tenantry.config.json');
  }
}
