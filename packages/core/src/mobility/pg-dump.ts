/**
 * The second archive format: `pg_dump --format=custom` of just the tenant's schema (schema
 * tier) or database (database tier), for tools that speak PostgreSQL's own formats. pg_dump
 * refuses a server newer than itself, so the one of the server's major version is looked for:
 * in `TENANTRY_PG_BIN`, then Debian's `/usr/lib/postgresql/<major>/bin`, then `PATH`.
 *
 * pg_dump runs as a child process with an argument array (no shell) and the password in its
 * environment, never on its command line.
 */
import { spawn } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { ServerTarget } from '../connection-router.js';
import { ErrorCodes, invalidArgument, TenantryError } from '../errors.js';
import { assertIdent } from '../identifiers.js';
import type { TenancyInternals } from '../internals.js';
import type { Tenant } from '../types.js';

/** What a pg_dump backup wrote. */
export interface PgDumpResult {
  readonly file: string;
  readonly bytes: number;
  /** The pg_dump that wrote it, and the server's major version. */
  readonly pgDump: string;
  readonly serverMajor: number;
  /** `--schema` for a schema tenant, `--dbname` for a database tenant. */
  readonly scope: { readonly schema: string } | { readonly database: string };
}

/** Runs a PostgreSQL client program to its end: its exit code and everything it printed. */
export function runProgram(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The major version a `pg_dump --version` prints (`pg_dump (PostgreSQL) 15.14 (Debian …)` → 15). */
async function majorOf(binary: string): Promise<number | undefined> {
  try {
    await access(binary, constants.X_OK);
    const { code, stdout } = await runProgram(binary, ['--version'], { PATH: process.env['PATH'] ?? '' });
    const m = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
    return code === 0 && m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** `pg_dump` and `pg_restore` of `major`, or undefined when none is installed. */
export async function findPgTools(major: number): Promise<{ pgDump: string; pgRestore: string } | undefined> {
  const dirs = [
    ...(process.env['TENANTRY_PG_BIN'] ? [process.env['TENANTRY_PG_BIN']] : []),
    `/usr/lib/postgresql/${major}/bin`,
    ...(process.env['PATH'] ?? '').split(delimiter).filter((p) => p !== ''),
  ];
  for (const dir of dirs) {
    const pgDump = join(dir, 'pg_dump');
    if ((await majorOf(pgDump)) === major) return { pgDump, pgRestore: join(dir, 'pg_restore') };
  }
  return undefined;
}

/** A file path for an archive: a non-empty string without NUL, resolved; refuses directories and (unless `overwrite`) existing files. */
export async function checkOutputPath(path: unknown, overwrite: boolean): Promise<string> {
  if (typeof path !== 'string' || path.trim() === '' || path.includes('\0') || path.length > 4096)
    throw invalidArgument('the output file must be a path (a non-empty string without NUL bytes)');
  const file = isAbsolute(path) ? path : resolve(path);
  const found = await stat(file).catch(() => undefined);
  if (found?.isDirectory()) throw invalidArgument(`'${file}' is a directory; give a file name`);
  if (found && !overwrite) throw invalidArgument(`'${file}' exists; remove it or pass overwrite`);
  return file;
}

/**
 * Dumps `tenant` with the pg_dump of its server's major version into `file`
 * (`--format=custom --no-owner --no-privileges`). Throws `INVALID_ARGUMENT` naming the version
 * to install when there is none.
 */
export async function pgDumpTenant(
  d: TenancyInternals,
  lookup: (server: string) => Promise<ServerTarget | undefined>,
  tenant: Tenant,
  file: string,
): Promise<PgDumpResult> {
  const admin = await d.router.admin(tenant.server);
  const { rows } = await admin.query<{ v: number }>(`select current_setting('server_version_num')::int as v`);
  const major = Math.floor(rows[0]!.v / 10000);
  const tools = await findPgTools(major);
  if (!tools)
    throw invalidArgument(
      `no pg_dump ${major} is installed for server '${tenant.server}' (PostgreSQL ${major}); install postgresql-client-${major} or point TENANTRY_PG_BIN at its bin folder, or use Tenantry's own archive (tenancy.mobility.backup)`,
      { context: { tenant: tenant.slug, server: tenant.server } },
    );
  const target = await lookup(tenant.server);
  if (!target) throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${tenant.server}'`, { context: { server: tenant.server } });
  const url = new URL(target.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const name = assertIdent(tenant.physicalName);
  // The strategy's target names the tenant's database, if it has one of its own.
  const database = d.strategyFor(tenant.isolation).target(tenant, false).database ?? undefined;
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  const scope = database !== undefined ? { database: name } : { schema: name };
  const args = [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${file}`,
    ...(database === undefined ? [`--schema=${name}`] : []),
    `--dbname=${url.toString()}`,
  ];
  const { code, stderr } = await runProgram(tools.pgDump, args, {
    PATH: process.env['PATH'] ?? '',
    PGPASSWORD: password,
    PGCONNECT_TIMEOUT: '10',
  });
  if (code !== 0)
    throw new TenantryError(
      ErrorCodes.INTERNAL,
      `pg_dump of tenant '${tenant.slug}' failed (exit ${code}): ${stderr.trim().slice(0, 500)}`,
      {
        context: { tenant: tenant.slug },
      },
    );
  const { size } = await stat(file);
  return { file, bytes: size, pgDump: tools.pgDump, serverMajor: major, scope };
}
