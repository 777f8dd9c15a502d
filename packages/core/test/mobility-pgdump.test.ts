import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { HOSTILE_STRING_CASES } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import { backupToBuffer, fill, mobilityMigrations, nextValues, snapshotOf } from './mobility-fixture.js';
import type { PgDumpRestoreStep, Tenancy } from '../src/index.js';

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

// ---------------------------------------------------------------------------------------
// Restore of pg_dump archives (tenancy.mobility.restorePgDump / restorePgDumpInPlace).

const dumps = mkdtempSync(join(tmpdir(), 'tenantry-pgrestore-test-'));

/** The scratch databases and roles of pg_dump restores left on the PostgreSQL 15 server. */
async function scratchDatabases(): Promise<string[]> {
  const rows = await query<{ n: string }>(
    'postgres',
    `select 'database ' || datname as n from pg_database where starts_with(datname, 'tenantry_pgrestore_')
     union all select 'role ' || rolname from pg_roles where starts_with(rolname, 'tenantry_pgrestore_')`,
  );
  return rows.map((r) => r.n).sort();
}

/** The tenant schemas and databases on the PostgreSQL 15 server. */
async function containersOnPg15(): Promise<string[]> {
  const rows = await query<{ n: string }>(
    'postgres',
    `select nspname as n from pg_namespace where nspname ~ '^t_[0-9a-f]{32}$' union all select datname from pg_database where datname ~ '^t_[0-9a-f]{32}$'`,
  );
  return rows.map((r) => r.n).sort();
}

async function dumpOf(slug: string): Promise<string> {
  const file = join(dumps, `${slug}-${randomBytes(3).toString('hex')}.dump`);
  await tenancy.mobility.pgDump(slug, file);
  return file;
}

describe.skipIf(!installed)('restoring pg_dump archives through Tenantry', () => {
  it('dumps of a schema tenant and of a database tenant restore, from a file or a stream, into new tenants of either tier with identical rows and sequence positions, logged as pg_dump restores', async () => {
    for (const isolation of ['schema', 'database'] as const) {
      const slug = `pgr-src-${isolation}`;
      const source = await tenancy.tenants.create({ slug, name: 'Source', server: 'pg15', isolation });
      await fill(tenancy, slug, 12);
      const expected = await snapshotOf(tenancy, slug);
      const file = await dumpOf(slug);
      // Into the other tier, from the file.
      const to = isolation === 'schema' ? 'database' : 'schema';
      const copy = `pgr-${isolation}-to-${to}`;
      const t = await tenancy.mobility.restorePgDump(file, { slug: copy, server: 'pg15', isolation: to });
      expect(t, copy).toMatchObject({ status: 'ACTIVE', isolation: to, server: 'pg15', name: copy, schemaVersion: '0003_comments' });
      expect(await snapshotOf(tenancy, copy), copy).toEqual(expected);
      const last = (await tenancy.tenants.activity(copy)).at(-1)!;
      expect(last, copy).toMatchObject({ action: 'restored', toStatus: 'ACTIVE' });
      expect(last.detail, copy).toMatchObject({
        format: 'pg_dump',
        from: {
          physicalName: isolation === 'schema' ? source.physicalName : 'public',
          tier: isolation,
          dumpedBy: expect.stringMatching(/^15\./),
        },
        tables: 3,
        pgRestore: join(BIN, 'pg_restore'),
      });
      // From a stream; the tier defaults to the dumped tenant's. The sequences hand out what the source's would.
      const streamed = await tenancy.mobility.restorePgDump(createReadStream(file), {
        slug: `pgr-${isolation}-stream`,
        server: 'pg15',
        name: 'S',
      });
      expect(streamed).toMatchObject({ isolation, name: 'S' });
      expect(await snapshotOf(tenancy, streamed.slug)).toEqual(expected);
      expect(await nextValues(tenancy, streamed.slug)).toEqual(await nextValues(tenancy, slug));
    }
    expect(await scratchDatabases(), 'every scratch database is dropped').toEqual([]);
  });

  it('a restore in place checks the dump while the tenant serves, then suspends it, switches it to the dumped data and keeps its id and slug', async () => {
    const t = await tenancy.tenants.create({ slug: 'pgr-in-place', name: 'In place', server: 'pg15' });
    await fill(tenancy, t.slug, 10);
    const archived = await snapshotOf(tenancy, t.slug);
    const file = await dumpOf(t.slug);
    await tenancy.withTenant(t.slug, async (db) => {
      await db.query(`insert into authors (name) values ('after the dump')`);
    });
    expect(await snapshotOf(tenancy, t.slug)).not.toEqual(archived);
    const steps: string[] = [];
    const status: Record<string, string> = {};
    const r = await tenancy.mobility.restorePgDumpInPlace(t.slug, file, {
      onStep: async (s: PgDumpRestoreStep) => {
        steps.push(s);
        if (s === 'scratch-loaded' || s === 'table-loaded') status[s] = (await tenancy.tenants.get(t.id)).status;
      },
    });
    expect(status).toEqual({ 'scratch-loaded': 'ACTIVE', 'table-loaded': 'SUSPENDED' });
    expect(steps.filter((s) => s !== 'table-loaded')).toEqual([
      'scratch-created',
      'scratch-loaded',
      'suspended',
      'staging-registered',
      'container-created',
      'data-verified',
      'switched',
      'old-copy-dropped',
      'scratch-dropped',
    ]);
    expect(r).toMatchObject({ id: t.id, slug: t.slug, status: 'ACTIVE', server: 'pg15', isolation: 'schema' });
    expect(r.physicalName).not.toBe(t.physicalName);
    expect(await snapshotOf(tenancy, t.slug)).toEqual(archived);
    const activity = await tenancy.tenants.activity(t.slug);
    expect(activity.map((a) => a.action)).toContain('restore-suspend');
    expect(activity.at(-1)).toMatchObject({ action: 'restored', toStatus: 'ACTIVE', detail: { format: 'pg_dump' } });
    expect(await containersOnPg15()).not.toContain(t.physicalName);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a dump whose schema is not what its migrations make is refused naming the difference, before any tenant is touched', async () => {
    const t = await tenancy.tenants.create({ slug: 'pgr-drift', name: 'Drift', server: 'pg15' });
    await fill(tenancy, t.slug, 4);
    await query('postgres', `alter table ${t.physicalName}.posts add column hacked int`);
    const file = await dumpOf(t.slug);
    const drifted = { code: 'CATALOG_DRIFTED', message: /1 difference: not made by its migrations: column posts\.hacked integer/ };
    await expect(tenancy.mobility.restorePgDump(file, { slug: 'pgr-drift-copy', server: 'pg15' })).rejects.toMatchObject(drifted);
    await expect(tenancy.tenants.get('pgr-drift-copy')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    const before = await tenancy.tenants.activity(t.slug);
    await expect(tenancy.mobility.restorePgDumpInPlace(t.slug, file)).rejects.toMatchObject(drifted);
    expect(await tenancy.tenants.get(t.slug)).toMatchObject({ status: 'ACTIVE', physicalName: t.physicalName });
    expect(await tenancy.tenants.activity(t.slug), 'never suspended').toEqual(before);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('hostile input is refused: bad paths, files that are not a Tenantry pg_dump, a Tenantry archive and vice versa, bad slugs, servers and tenants', async () => {
    await tenancy.tenants.create({ slug: 'pgr-hostile', name: 'H', server: 'pg15' });
    await fill(tenancy, 'pgr-hostile', 3);
    const good = await dumpOf('pgr-hostile');
    const bytes = readFileSync(good);
    const file = (name: string, content: Buffer | string): string => {
      const path = join(dumps, name);
      writeFileSync(path, content);
      return path;
    };
    const directory = join(dumps, 'a-directory');
    mkdirSync(directory);
    // A pg_dump of a database that is not a tenant.
    await query('postgres', 'create database not_a_tenant');
    await query('not_a_tenant', 'create table things (id int primary key)');
    const foreign = join(dumps, 'foreign.dump');
    const made = spawnSync(
      join(BIN, 'pg_dump'),
      ['--format=custom', `--file=${foreign}`, `--dbname=${url.replace(/\/postgres$/, '/not_a_tenant')}`],
      {
        encoding: 'utf8',
        env: { ...process.env, PGPASSWORD: 'unused' },
      },
    );
    expect(made.status, made.stderr).toBe(0);
    const cases: [string, string, RegExp][] = [
      ['no such file', join(dumps, 'missing.dump'), /there is no file/],
      ['a directory', directory, /is a directory/],
      ['random bytes', file('random.dump', randomBytes(4096)), /custom-format signature/],
      ['an empty file', file('empty.dump', ''), /custom-format signature/],
      [
        'a Tenantry archive',
        file('tenantry.dump', (await backupToBuffer(tenancy, 'pgr-hostile')).archive),
        /is a Tenantry archive.*mobility\.restore/,
      ],
      ['a plain SQL dump', file('plain.sql', '--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\n'), /plain SQL dump/],
      [
        'a truncated dump',
        file('truncated.dump', bytes.subarray(0, Math.floor(bytes.length / 2))),
        /pg_restore 15 (cannot read|could not load) it/,
      ],
      ['a signature and nothing else', file('header.dump', bytes.subarray(0, 12)), /pg_restore 15 cannot read it/],
      ['a dump of a database that is not a tenant', foreign, /no Tenantry migration ledger/],
    ];
    for (const [what, path, message] of cases) {
      await expect(tenancy.mobility.restorePgDump(path, { slug: 'pgr-never', server: 'pg15' }), what).rejects.toMatchObject({
        code: 'ARCHIVE_INVALID',
        message,
      });
      await expect(tenancy.mobility.restorePgDumpInPlace('pgr-hostile', path), what).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
    }
    // Vice versa: Tenantry's own restore refuses a pg_dump archive.
    await expect(tenancy.mobility.restore(createReadStream(good), { slug: 'pgr-never', server: 'pg15' })).rejects.toMatchObject({
      code: 'ARCHIVE_INVALID',
    });
    for (const bad of ['', '   ', 'a\0b', 'x'.repeat(5000), 42, null, {}])
      await expect(
        tenancy.mobility.restorePgDump(bad as string, { slug: 'pgr-never', server: 'pg15' }),
        JSON.stringify(bad),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    for (const { family, value } of HOSTILE_STRING_CASES) {
      const what = `${family}: ${JSON.stringify(value.slice(0, 40))}`;
      await expect(tenancy.mobility.restorePgDump(good, { slug: value, server: 'pg15' }), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_TENANT_ID|INVALID_ARGUMENT)$/),
      });
      await expect(tenancy.mobility.restorePgDump(good, { slug: 'pgr-never', server: value }), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_ARGUMENT|SERVER_NOT_FOUND)$/),
      });
      await expect(tenancy.mobility.restorePgDumpInPlace(value, good), what).rejects.toMatchObject({
        code: expect.stringMatching(/^(INVALID_TENANT_ID|TENANT_NOT_FOUND)$/),
      });
    }
    await expect(tenancy.mobility.restorePgDump(good, { slug: 'pgr-never', server: 'absent' })).rejects.toMatchObject({
      code: 'SERVER_NOT_FOUND',
    });
    await expect(tenancy.mobility.restorePgDump(good, { slug: 'pgr-hostile', server: 'pg15' })).rejects.toMatchObject({
      code: 'TENANT_EXISTS',
    });
    // The registry's own server runs PostgreSQL 18, whose pg_restore is not installed here.
    await expect(tenancy.mobility.restorePgDump(good, { slug: 'pgr-never', server: 'default' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: /no pg_restore 18 is installed.*postgresql-client-18/,
    });
    await expect(tenancy.tenants.get('pgr-never')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect(await tenancy.tenants.get('pgr-hostile')).toMatchObject({ status: 'ACTIVE' });
    expect(await scratchDatabases()).toEqual([]);
  });

  it("a dump's SQL runs as a role of its own, which can do nothing outside its scratch database", async () => {
    const t = await tenancy.tenants.create({ slug: 'pgr-evil', name: 'Evil', server: 'pg15' });
    await fill(tenancy, t.slug, 3);
    // A CHECK constraint is evaluated for every row COPY loads, as the user pg_restore logged in as.
    const s = t.physicalName;
    await query(
      'postgres',
      `create function ${s}.evil(n bigint) returns boolean language plpgsql as $$
       begin
         if not exists (select 1 from pg_roles where rolname = 'tenantry_evil') then execute 'create role tenantry_evil superuser login'; end if;
         return true;
       end $$;
       alter table ${s}.posts add constraint evil check (${s}.evil(id));
       drop role tenantry_evil;`,
    );
    const file = await dumpOf(t.slug);
    await expect(tenancy.mobility.restorePgDump(file, { slug: 'pgr-evil-copy', server: 'pg15' })).rejects.toMatchObject({
      code: 'ARCHIVE_INVALID',
      message: /pg_restore 15 could not load it.*permission denied to create role/,
    });
    expect(await query('postgres', `select 1 from pg_roles where rolname = 'tenantry_evil'`), 'no role was made').toEqual([]);
    expect(await scratchDatabases()).toEqual([]);
  });

  it(
    'a process killed during a pg_dump restore leaves, after reconcile(), the tenant whole on one placement and no scratch database',
    { timeout: 180_000 },
    async () => {
      const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
      const killedAt = async (step: PgDumpRestoreStep, action: 'new' | 'in-place', slug: string, file: string): Promise<void> => {
        const script = `
          const { createTenancy } = await import(${JSON.stringify(core)});
          const tenancy = await createTenancy({ registryUrl: process.env.URL, migrations: process.env.MIGRATIONS, encryptionKey: process.env.KEY, reconcileOnStart: false });
          const options = { onStep: (step) => { if (step === process.env.STEP) process.kill(process.pid, 'SIGKILL'); } };
          const { ACTION, SLUG, FILE } = process.env;
          if (ACTION === 'new') await tenancy.mobility.restorePgDump(FILE, { slug: SLUG, server: 'pg15', isolation: 'database' }, options);
          else await tenancy.mobility.restorePgDumpInPlace(SLUG, FILE, options);
          process.exit(3);`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          env: { ...process.env, URL: h.db.url, MIGRATIONS, KEY, STEP: step, ACTION: action, SLUG: slug, FILE: file },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
        expect(signal, `child should die at ${step} (exit code ${code}): ${stderr}`).toBe('SIGKILL');
      };
      const settled = async (): Promise<Tenancy> => {
        const fresh = await h.tenancy({ migrations: MIGRATIONS, encryptionKey: KEY });
        await expect
          .poll(
            async () => {
              await fresh.reconcile();
              const { rows } = await h.admin.query<{ n: number }>(
                `select (select count(*) from tenantry.tenants where status in ('PROVISIONING', 'DELETING'))
                      + (select count(*) from tenantry.mobility_jobs where state = 'running') as n`,
              );
              return [Number(rows[0]!.n), ...(await scratchDatabases())];
            },
            { timeout: 20_000, interval: 200 },
          )
          .toEqual([0]);
        return fresh;
      };
      await tenancy.tenants.create({ slug: 'pgr-crash-src', name: 'S', server: 'pg15' });
      await fill(tenancy, 'pgr-crash-src', 6);
      const expected = await snapshotOf(tenancy, 'pgr-crash-src');
      const file = await dumpOf('pgr-crash-src');
      let n = 0;
      for (const step of ['scratch-loaded', 'activated'] as const) {
        const slug = `pgr-crash-new-${n++}`;
        const before = await containersOnPg15();
        await killedAt(step, 'new', slug, file);
        const fresh = await settled();
        if (step === 'activated') {
          const t = await fresh.tenants.get(slug);
          expect(t, step).toMatchObject({ status: 'ACTIVE', isolation: 'database' });
          expect(await snapshotOf(fresh, slug), step).toEqual(expected);
          expect(await containersOnPg15(), step).toEqual([...before, t.physicalName].sort());
        } else {
          await expect(fresh.tenants.get(slug), `${step}: the slug is free`).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
          expect(await containersOnPg15(), `${step}: nothing is left`).toEqual(before);
        }
      }
      for (const step of ['scratch-created', 'data-verified', 'switched'] as const) {
        const slug = `pgr-crash-in-${n++}`;
        const t = await tenancy.tenants.create({ slug, name: 'C', server: 'pg15' });
        await fill(tenancy, slug, 5);
        const archived = await snapshotOf(tenancy, slug);
        const dumped = await dumpOf(slug);
        await tenancy.withTenant(slug, async (db) => {
          await db.query(`insert into authors (name) values ('after the dump')`);
        });
        const live = await snapshotOf(tenancy, slug);
        const before = await containersOnPg15();
        await killedAt(step, 'in-place', slug, dumped);
        const fresh = await settled();
        const now = await fresh.tenants.get(t.id);
        expect(now.status, step).toBe('ACTIVE');
        if (step === 'switched') {
          expect(now.physicalName, step).not.toBe(t.physicalName);
          expect(await snapshotOf(fresh, slug), step).toEqual(archived);
          expect(await containersOnPg15(), step).toEqual([...before.filter((x) => x !== t.physicalName), now.physicalName].sort());
        } else {
          expect(now.physicalName, `${step}: still on its old copy`).toBe(t.physicalName);
          expect(await snapshotOf(fresh, slug), step).toEqual(live);
          expect(await containersOnPg15(), `${step}: the new copy is gone`).toEqual(before);
        }
      }
    },
  );
});
