import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './embedded-server.js';

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /**
   * URL of the PostgreSQL server to pool, with user and password, e.g. the embedded server's
   * `postgres://postgres:postgres@127.0.0.1:5432/postgres`. Every database of that server is
   * reachable through PgBouncer under its own name; the URL's user and password are the only
   * login PgBouncer accepts.
   */
  readonly serverUrl: string;
  /** Default `transaction`: the mode that breaks session state, which is what we test. */
  readonly poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per database/user pair (`default_pool_size`). Default 10. */
  readonly poolSize?: number;
  /** Client connections PgBouncer accepts (`max_client_conn`). Default 500. */
  readonly maxClientConnections?: number;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  readonly port?: number;
  /** The `pgbouncer` executable. Default: `PGBOUNCER` from the environment, else `pgbouncer` on PATH (or /usr/sbin). */
  readonly binary?: string;
  /**
   * More `[pgbouncer]` settings, e.g. `{ server_reset_query_always: 1 }` or
   * `{ max_prepared_statements: 100 }` (1.21+; older versions refuse unknown settings).
   */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Where PgBouncer's log lines go (default: kept in its temp folder, read with `log()`). */
  readonly onLog?: (line: string) => void;
  /** Milliseconds to wait for PgBouncer to listen. Default 10 000. */
  readonly startTimeoutMillis?: number;
}

/** A running PgBouncer. */
export interface PgBouncer {
  /** The server URL with host and port replaced by PgBouncer's (same user, password, database). */
  readonly url: string;
  readonly port: number;
  /** `PgBouncer 1.18.0` — the first line of `pgbouncer --version`. */
  readonly version: string;
  /** Major and minor version, e.g. `[1, 18]`. */
  readonly versionNumber: readonly [number, number];
  /** URL of another database through PgBouncer. */
  urlFor(database: string): string;
  /** PgBouncer's log so far. */
  log(): Promise<string>;
  /** Stops PgBouncer (SIGTERM, then SIGKILL after 5 s) and removes its temp folder. Idempotent. */
  stop(): Promise<void>;
}

/** `pgbouncer` is not installed (or not executable). */
export class PgBouncerNotFoundError extends Error {
  override readonly name = 'PgBouncerNotFoundError';
  constructor(tried: string) {
    super(
      `pgbouncer was not found (looked for ${tried}). Install it — Debian/Ubuntu: \`sudo apt-get install pgbouncer\`; ` +
        'macOS: `brew install pgbouncer` — or point PGBOUNCER at the executable.',
    );
  }
}

/** What {@link findPgBouncer} looks for, for error messages. */
function lookedFor(binary: string | undefined): string {
  if (binary !== undefined && binary !== '') return binary;
  const env = process.env['PGBOUNCER'];
  return env !== undefined && env !== '' ? env : 'pgbouncer on PATH and in /usr/sbin';
}

function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of the `pgbouncer` executable: `PGBOUNCER`, else the first `pgbouncer` on PATH, else
 * Debian's `/usr/sbin/pgbouncer` (sbin is not on every user's PATH). Undefined when none exists.
 */
export function findPgBouncer(binary = process.env['PGBOUNCER']): string | undefined {
  if (binary !== undefined && binary !== '') {
    if (binary.includes('/')) return executable(binary) ? binary : undefined;
  }
  const name = binary !== undefined && binary !== '' ? binary : 'pgbouncer';
  const dirs = [
    ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
    '/opt/homebrew/bin',
    '/usr/local/bin',
  ];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Why PgBouncer cannot be started here — the message of the {@link PgBouncerNotFoundError}
 * {@link startPgBouncer} would throw, which says how to install it — or `undefined` when
 * {@link findPgBouncer} finds it. The library prints nothing: a suite that skips itself when
 * pgbouncer is missing prints this line itself.
 *
 * @example
 * ```ts
 * const missing = pgbouncerMissing();
 * const skip = missing !== undefined && process.env['CI'] !== 'true'; // CI must have it
 * if (skip) console.warn(`PgBouncer tests skipped: ${missing}`);
 * describe.skipIf(skip)('behind PgBouncer', () => { … });
 * ```
 */
export function pgbouncerMissing(binary?: string): string | undefined {
  return findPgBouncer(binary) === undefined ? new PgBouncerNotFoundError(lookedFor(binary)).message : undefined;
}

/** `pgbouncer --version`'s first line and its version number. Throws {@link PgBouncerNotFoundError}. */
export function pgbouncerVersion(binary?: string): { version: string; versionNumber: [number, number] } {
  const path = findPgBouncer(binary);
  if (path === undefined) throw new PgBouncerNotFoundError(lookedFor(binary));
  const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
  const version = out.split('\n')[0]!.trim();
  const m = /(\d+)\.(\d+)/.exec(version);
  return { version, versionNumber: m ? [Number(m[1]), Number(m[2])] : [0, 0] };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** PgBouncer refuses to run as root; as root it is started with `-u postgres` (or `nobody`). */
function unprivilegedUser(): { name: string; uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      return { name, uid, gid };
    } catch {
      // try the next one
    }
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists for pgbouncer to run as (it refuses root)');
}

/** A value for pgbouncer.ini / userlist.txt: double quotes doubled. */
function quoted(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, log: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`pgbouncer exited (${child.exitCode ?? child.signalCode}) before listening:\n${await log()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${await log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts PgBouncer on a free loopback port in front of `serverUrl` — transaction mode by
 * default — with its ini, user list, log and pid file in a fresh temp folder. As root it runs
 * as the `postgres` user (PgBouncer refuses root). Throws {@link PgBouncerNotFoundError} when
 * `pgbouncer` is not installed.
 *
 * @example
 * ```ts
 * const bouncer = await startPgBouncer({ serverUrl: server.url });
 * const tenancy = await createTenancy({ registryUrl: bouncer.url, preparedStatements: false, listen: false });
 * // …
 * await bouncer.stop();
 * ```
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer(options.binary);
  if (binary === undefined) throw new PgBouncerNotFoundError(lookedFor(options.binary));
  const { version, versionNumber } = pgbouncerVersion(binary);
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  const serverPort = server.port || '5432';
  const serverHost = server.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-pgbouncer-'));
  const runAs = unprivilegedUser();
  const ini = join(dir, 'pgbouncer.ini');
  const userlist = join(dir, 'userlist.txt');
  const logFile = join(dir, 'pgbouncer.log');
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'md5',
    auth_file: userlist,
    logfile: logFile,
    pidfile: join(dir, 'pgbouncer.pid'),
    pool_mode: options.poolMode ?? 'transaction',
    default_pool_size: options.poolSize ?? 10,
    max_client_conn: options.maxClientConnections ?? 500,
    // pg sends none of these by default; ORMs sometimes send extra_float_digits.
    ignore_startup_parameters: 'extra_float_digits',
    admin_users: user,
    server_login_retry: 1,
    log_connections: 0,
    log_disconnections: 0,
    ...options.settings,
  };
  await writeFile(
    ini,
    [
      '[databases]',
      // Every database name maps to the same server (auto-created pools), as Tenantry's database tenants need.
      `* = host=${serverHost} port=${serverPort}`,
      '',
      '[pgbouncer]',
      ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
      '',
    ].join('\n'),
  );
  await writeFile(userlist, `${quoted(user)} ${quoted(password)}\n`);
  await chmod(userlist, 0o600);
  if (runAs) {
    for (const p of [dir, ini, userlist]) await chown(p, runAs.uid, runAs.gid);
  }
  const args = [...(runAs ? ['-u', runAs.name] : []), ini];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const onLog = options.onLog;
  const forward = (chunk: Buffer) => {
    if (onLog) for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) onLog(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a pgbouncer behind when the test process dies.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const log = async () => await readFile(logFile, 'utf8').catch(() => '');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, options.startTimeoutMillis ?? 10_000, log);
  } catch (err) {
    await stop();
    throw err;
  }
  const urlFor = (database: string) => {
    const u = new URL(options.serverUrl);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
  };
  return {
    url: urlFor(decodeURIComponent(server.pathname.replace(/^\//, '')) || 'postgres'),
    port,
    version,
    versionNumber,
    urlFor,
    log,
    stop,
  };
}
