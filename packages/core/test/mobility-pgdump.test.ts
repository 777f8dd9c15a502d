import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { HOSTILE_STRING_CASES } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import { fill, mobilityMigrations } from './mobility-fixture.js';
import type { Tenancy } from '../src/index.js';

// The pg_dump format, against Debian's PostgreSQL 15 (server and client), which this test starts
// itself: initdb in a temporary folder, a free port. Missing locally: skipped with a line saying
// so; missing under CI=true: a failure (.ci/run installs postgresql-15).

const BIN = '/usr/lib/postgresql/15/bin';
const installed = existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_dump'));
if (!installed) {
  if (process.env['CI'] === 'true')
    throw new Error(`PostgreSQL 15 is not installed (${BIN}); .ci/run installs it with apt-get install -y postgresql-15`);
  console.log(`mobility-pgdump: skipped, PostgreSQL 15 is not installed at ${BIN} (apt-get install -y postgresql-15)`);
}

const h = await setupHarness();
const MIGRATIONS = mobilityMigrations();
const KEY = randomBytes(32).toString('hex');
const root = process.getuid?.() === 0;
let dataDir = '';
let url = '';
let tenancy: Tenancy;

function sh(cmd: string, args: string[]): string {
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv as string[], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

async function freePort(): Promise<number> {
  return await new Promise((done) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

beforeAll(async () => {
  if (!installed) return;
  dataDir = mkdtempSync(join(tmpdir(), 'tenantry-pg15-'));
  if (root) chownSync(dataDir, Number(sh('id', ['-u']).trim()), Number(sh('id', ['-g']).trim()));
  sh(join(BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
  const port = await freePort();
  sh(join(BIN, 'pg_ctl'), [
    '-D',
    dataDir,
    '-w',
    '-l',
    join(dataDir, 'log'),
    '-o',
    `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1`,
    'start',
  ]);
  url = `postgres://postgres:unused@127.0.0.1:${port}/postgres`;
  tenancy = await h.tenancy({ migrations: MIGRATIONS, encryptionKey: KEY });
  await tenancy.servers.add({ id: 'pg15', url });
}, 120_000);

afterAll(() => {
  if (!installed || dataDir === '') return;
  try {
    sh(join(BIN, 'pg_ctl'), ['-D', dataDir, '-w', '-m', 'immediate', 'stop']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function query<T extends pg.QueryResultRow>(database: string, sql: string): Promise<T[]> {
  const c = new pg.Client(url.replace(/\/postgres$/, `/${database}`));
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!installed)('pg_dump archives of one tenant', () => {
  it('a schema tenant and a database tenant on PostgreSQL 15 dump to custom archives that pg_restore loads with every row', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tenantry-dumps-'));
    for (const isolation of ['schema', 'database'] as const) {
      const slug = `dump-${isolation}`;
      const t = await tenancy.tenants.create({ slug, name: 'Dump', server: 'pg15', isolation });
      await fill(tenancy, slug, 9);
      const file = join(out, `${slug}.dump`);
      const result = await tenancy.mobility.pgDump(slug, file);
      expect(result).toMatchObject({ file, serverMajor: 15, pgDump: join(BIN, 'pg_dump') });
      expect(result.bytes).toBeGreaterThan(1000);
      // Only the tenant: its tables, nobody else's.
      const list = spawnSync(join(BIN, 'pg_restore'), ['--list', file], { encoding: 'utf8' }).stdout;
      expect(list).toMatch(/TABLE DATA \S+ posts/);
      expect(list).toMatch(/TABLE DATA \S+ _tenantry_migrations/);
      expect(list, 'nothing of the registry').not.toMatch(/ tenantry (tenants|servers|activity) /);
      if (isolation === 'schema') expect(list).toContain(`SCHEMA - ${t.physicalName}`);
      // pg_restore brings every row back, into a scratch database.
      const scratch = `scratch_${isolation}`;
      await query('postgres', `create database ${scratch}`);
      const restore = spawnSync(join(BIN, 'pg_restore'), ['--no-owner', `--dbname=${url.replace(/\/postgres$/, `/${scratch}`)}`, file], {
        encoding: 'utf8',
        env: { ...process.env, PGPASSWORD: 'unused' },
      });
      expect(restore.status, restore.stderr).toBe(0);
      const schema = isolation === 'schema' ? t.physicalName : 'public';
      const [counts] = await query<{ posts: number; authors: number }>(
        scratch,
        `select (select count(*)::int from ${schema}.posts) as posts, (select count(*)::int from ${schema}.authors) as authors`,
      );
      expect(counts).toEqual({ posts: 7, authors: 3 });
    }
    rmSync(out, { recursive: true, force: true });
  });

  it('a tenant on a server newer than every installed pg_dump is refused, naming the client to install', async () => {
    await tenancy.tenants.create({ slug: 'dump-pg18', name: 'New', server: 'default' });
    const file = join(tmpdir(), `tenantry-${randomBytes(4).toString('hex')}.dump`);
    const err = await tenancy.mobility.pgDump('dump-pg18', file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: /no pg_dump 18 is installed.*postgresql-client-18/ });
    expect(existsSync(file)).toBe(false);
  });

  it('hostile file paths and tenant references are refused before pg_dump runs', async () => {
    await tenancy.tenants.create({ slug: 'dump-hostile', name: 'H', server: 'pg15' });
    for (const { family, value } of HOSTILE_STRING_CASES) {
      const what = `${family}: ${JSON.stringify(value.slice(0, 40))}`;
      await expect(tenancy.mobility.pgDump(value, join(tmpdir(), 'x.dump')), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_TENANT_ID|TENANT_NOT_FOUND)$/),
      });
    }
    for (const bad of ['', '   ', 'a\0b', tmpdir(), 'x'.repeat(5000)])
      await expect(tenancy.mobility.pgDump('dump-hostile', bad), JSON.stringify(bad.slice(0, 20))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    // A name starting with a dash is a file, not an option of pg_dump.
    const dashed = join(mkdtempSync(join(tmpdir(), 'tenantry-dash-')), '--help');
    await expect(tenancy.mobility.pgDump('dump-hostile', dashed)).resolves.toMatchObject({ file: dashed });
    expect(existsSync(dashed)).toBe(true);
  });
});
