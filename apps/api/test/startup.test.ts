import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase } from '@tenantry/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const work = await mkdtemp(join(tmpdir(), 'tenantry-api-start-'));
// As root, PostgreSQL runs as the `postgres` user, which must reach the data folder.
await chmod(work, 0o755);
const started: ChildProcess[] = [];

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  await rm(work, { recursive: true, force: true });
});

/** The environment of `npm start`, without a registry or data folder of the caller's. */
function env(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'DATABASE_URL' && !k.startsWith('TENANTRY_')) out[k] = v;
  return { ...out, PORT: '0', LOG_LEVEL: 'info', TENANTRY_ADMIN_TOKEN: 'test-admin-token-0123456789', ...extra };
}

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node apps/api/dist/main.js` in a process group of its own (as a terminal would). */
function startApi(extra: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], { env: env(extra), cwd: work, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (stdout.includes('Try:')) resolve(stdout);
    });
    void exited.then((e) => reject(new Error(`exited ${e.code} before listening: ${e.stderr}`)));
  });
  listening.catch(() => undefined); // awaited only by the tests that expect a start

  return { child, exited, listening, stdout: () => stdout };
}

describe('npm start: every start-up failure is a sentence naming the cause and the fix', () => {
  it('an unreachable DATABASE_URL is named with its host and port, without a stack', async () => {
    const { code, stderr } = await startApi({ DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' }).exited;
    expect(code).toBe(1);
    expect(stderr).toBe(
      'tenantry-api: cannot connect to the registry database in DATABASE_URL (postgres://u:***@127.0.0.1:1/x): nothing accepts connections on 127.0.0.1:1. ' +
        'Fix: start PostgreSQL there, correct the host and port in DATABASE_URL, or unset DATABASE_URL to use an embedded PostgreSQL.\n',
    );
  });

  it('a wrong password or a missing database in DATABASE_URL says which', async () => {
    const server = new URL(inject('tenantryServerUrl'));
    const wrongPassword = new URL(server);
    wrongPassword.password = 'not-the-password';
    const bad = await startApi({ DATABASE_URL: wrongPassword.toString() }).exited;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tenantry-api: cannot connect to the registry database in DATABASE_URL \(postgres:\/\/\w+:\*\*\*@/);
    expect(bad.stderr).toContain(
      `refused the password of user '${server.username}'. Fix: correct the user or the password in DATABASE_URL.`,
    );
    expect(bad.stderr).not.toContain('not-the-password');

    const noDatabase = new URL(server);
    noDatabase.pathname = '/no_such_database';
    const missing = await startApi({ DATABASE_URL: noDatabase.toString() }).exited;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`the database 'no_such_database' does not exist on ${server.hostname}:${server.port}. Fix: create it`);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });

  it('TENANTRY_DATA_DIR is the folder holding the data folder: a data folder itself, or a non-empty non-data pg, is refused with the fix', async () => {
    const dataFolder = join(work, 'looks-like-pgdata');
    await mkdir(dataFolder);
    await writeFile(join(dataFolder, 'PG_VERSION'), '18\n');
    const itself = await startApi({ TENANTRY_DATA_DIR: dataFolder }).exited;
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain(`TENANTRY_DATA_DIR=${dataFolder} is a PostgreSQL data folder itself`);
    expect(itself.stderr).toContain('set TENANTRY_DATA_DIR to the folder above it');

    const cluttered = join(work, 'cluttered');
    await mkdir(join(cluttered, 'pg'), { recursive: true });
    await writeFile(join(cluttered, 'pg', 'notes.txt'), 'not PostgreSQL');
    const notEmpty = await startApi({ TENANTRY_DATA_DIR: cluttered }).exited;
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toContain(`${join(cluttered, 'pg')} is not empty but holds no PostgreSQL data`);
    expect(notEmpty.stderr).not.toContain('initdb');
  });

  it('a DATABASE_URL whose user is a superuser starts with one warning naming the role and docs/security.md', async () => {
    const db = await createTestDatabase(inject('tenantryServerUrl'), 'startsu');
    try {
      const api = startApi({ DATABASE_URL: db.urlFor(db.name, inject('tenantryAdminUrl')) });
      await api.listening;
      process.kill(-api.child.pid!, 'SIGTERM');
      const { stdout } = await api.exited;
      const warnings = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/'postgres' is a PostgreSQL superuser.*docs\/security\.md/);
    } finally {
      await db.drop();
    }
  });

  it('embedded: the banner gives the server URL and a CLI config; a second start on the folder names it in use; Ctrl-C logs one info line', async () => {
    const dataDir = join(work, 'embedded');
    const first = startApi({ TENANTRY_DATA_DIR: dataDir });
    const banner = await first.listening;
    const config = JSON.parse(await readFile(join(dataDir, 'tenantry.config.json'), 'utf8')) as { registryUrl: string; migrations: string };
    // The runtime role is the application role, not the superuser; its password was generated
    // for this data folder and is kept there, readable by its owner only.
    expect(config.registryUrl).toMatch(/^postgres:\/\/tenantry_app:[0-9a-f]{48}@127\.0\.0\.1:\d+\/tenantry$/);
    const secret = join(dataDir, 'pg', 'tenantry-app-role.secret');
    expect((await stat(secret)).mode & 0o777).toBe(0o600);
    expect(config.registryUrl).toContain(`:${(await readFile(secret, 'utf8')).trim()}@`);
    const probe = new pg.Client({ connectionString: config.registryUrl });
    await probe.connect();
    try {
      const { rows } = await probe.query<{ superuser: boolean; createrole: boolean }>(
        'select rolsuper as superuser, rolcreaterole as createrole from pg_roles where rolname = current_user',
      );
      expect(rows[0]).toEqual({ superuser: false, createrole: true });
      // Every connection the API holds is the application role's.
      const { rows: sessions } = await probe.query<{ role: string }>(
        "select distinct usename::text as role from pg_stat_activity where datname = 'tenantry' and backend_type = 'client backend'",
      );
      expect(sessions.map((s) => s.role)).toEqual(['tenantry_app']);
    } finally {
      await probe.end();
    }
    expect(existsSync(join(config.migrations, '0001_create_posts.sql'))).toBe(true);
    expect(banner).toContain(`  PostgreSQL:  psql ${config.registryUrl}\n`);
    expect(banner).toContain(`TENANTRY_CONFIG=${join('embedded', 'tenantry.config.json')} npx tenantry tenants list`);

    const second = await startApi({ TENANTRY_DATA_DIR: dataDir }).exited;
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `^tenantry-api: the data folder ${join(dataDir, 'pg')} is in use by another process \\(PostgreSQL, pid \\d+, from its lock file postmaster\\.pid\\)`,
      ),
    );
    expect(second.stderr).toContain('Stop that one (Ctrl-C in its terminal), or give this one a folder of its own with TENANTRY_DATA_DIR');
    expect(second.stderr).not.toContain('undefined');

    // Ctrl-C in a terminal signals the whole process group: the API and its PostgreSQL.
    process.kill(-first.child.pid!, 'SIGINT');
    const stopped = await first.exited;
    expect(stopped.code).toBe(0);
    const lines = stopped.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    const afterBanner = lines.slice(lines.findIndex((l) => l.msg === 'shutting down'));
    expect(afterBanner).toEqual([expect.objectContaining({ level: 30, msg: 'shutting down' })]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(stopped.stderr).toBe('');
  });
});
