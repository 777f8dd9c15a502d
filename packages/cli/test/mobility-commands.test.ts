import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@tenantry/testing';
import { HOSTILE_STRING_CASES } from '@tenantry/testing';
import { cleanEnv, runCli, type CliRun } from './run-cli.js';

const db = await createTestDatabase(inject('tenantryServerUrl'));
const db2 = await createTestDatabase(inject('tenantryServerUrl'));
const db3 = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-mobility-'));
await mkdir(join(work, 'migrations'));
await writeFile(
  join(work, 'migrations', '0001_posts.sql'),
  'create table posts (id serial primary key, title text not null, tags text[], body jsonb, at timestamptz default now());\n',
);

afterAll(async () => {
  await db.drop();
  await db2.drop();
  await db3.drop();
  await rm(work, { recursive: true, force: true });
});

const env = {
  ...cleanEnv(),
  DATABASE_URL: db.url,
  TENANTRY_MIGRATIONS: join(work, 'migrations'),
  TENANTRY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  EU2_URL: db2.url,
  DRAIN_URL: db3.url,
};
const tenantry = (...args: string[]): Promise<CliRun> => runCli(args, { env, cwd: work });
const json = <T = any>(run: CliRun): T => JSON.parse(run.stdout) as T;

describe('tenantry tenants backup | restore | clone | move | purge-moved', () => {
  it(
    'backs a tenant up to a file, restores it as a new tenant and in place, clones it, and moves it to another server and tier',
    { timeout: 180_000 },
    async () => {
      expect((await tenantry('tenants', 'create', 'acme', '--name', 'Acme', '--server', 'default')).code).toBe(0);
      const sql =
        "insert into posts (title, tags, body) select 'p' || g, array['a', 'b'], jsonb_build_object('g', g) from generate_series(1, 25) g";
      expect((await tenantry('run', sql, '--tenant', 'acme')).code).toBe(0);
      const file = join(work, 'acme.tenantry');
      const backup = await tenantry('tenants', 'backup', 'acme', '--out', file, '--json');
      expect(backup.code, backup.stderr).toBe(0);
      expect(json(backup)).toMatchObject({ file, format: 'tenantry', manifest: { tableData: [{ name: 'posts', rows: 25 }] } });
      expect(existsSync(`${file}.partial`)).toBe(false);
      // The file is not overwritten without --force.
      const again = await tenantry('tenants', 'backup', 'acme', '--out', file);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/exists.*--force/);

      const restored = await tenantry('tenants', 'restore', file, '--slug', 'acme-copy', '--json');
      expect(restored.code, restored.stderr).toBe(0);
      expect(json(restored).tenant).toMatchObject({ slug: 'acme-copy', status: 'ACTIVE' });
      const inPlace = await tenantry('tenants', 'restore', file, '--in-place', 'acme');
      expect(inPlace.code, inPlace.stderr).toBe(0);
      expect(inPlace.stdout).toMatch(/Restored .* over tenant 'acme'/);

      const clone = await tenantry('tenants', 'clone', 'acme', 'acme-demo', '--name', 'Demo', '--json');
      expect(clone.code, clone.stderr).toBe(0);
      expect(json(clone).tenant).toMatchObject({ slug: 'acme-demo', name: 'Demo' });

      expect((await tenantry('servers', 'add', 'eu-2', '--url-env', 'EU2_URL')).code).toBe(0);
      const move = await tenantry(
        'tenants',
        'move',
        'acme',
        '--server',
        'eu-2',
        '--isolation',
        'database',
        '--retain-hours',
        '0',
        '--json',
      );
      expect(move.code, move.stderr).toBe(0);
      expect(json(move)).toMatchObject({ tenant: { slug: 'acme', server: 'eu-2', isolation: 'database' }, oldCopy: null });
      const count = await tenantry('run', 'select count(*)::int as n from posts', '--tenant', 'acme', '--json');
      expect(JSON.stringify(json(count))).toContain('"n":25');
      const purge = await tenantry('tenants', 'purge-moved', '--json');
      expect(purge.code, purge.stderr).toBe(0);
      expect(json(purge)).toEqual({ purged: [] });
    },
  );

  it(
    'servers drain --move moves every tenant off the server, with progress on stderr and a JSON report',
    { timeout: 180_000 },
    async () => {
      expect((await tenantry('servers', 'add', 'drain-src', '--url-env', 'DRAIN_URL')).code).toBe(0);
      for (const slug of ['drained-1', 'drained-2', 'drained-3'])
        expect((await tenantry('tenants', 'create', slug, '--name', slug, '--server', 'drain-src')).code).toBe(0);
      expect((await tenantry('run', "insert into posts (title) values ('kept')", '--tenant', 'drained-2')).code).toBe(0);
      const refused = await tenantry('servers', 'drain', 'drain-src', '--to', 'default');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--to needs --move/);

      const drain = await tenantry(
        'servers',
        'drain',
        'drain-src',
        '--move',
        '--to',
        'default',
        '--concurrency',
        '2',
        '--retain-hours',
        '0',
        '--json',
      );
      expect(drain.code, drain.stderr).toBe(0);
      const report = json(drain);
      expect(report).toMatchObject({
        server: 'drain-src',
        ok: true,
        counts: { moved: 3, failed: 0, skipped: 0 },
        remaining: 0,
        retainedCopies: 0,
      });
      expect(report.results.map((r: { tenant: { slug: string } }) => r.tenant.slug).sort()).toEqual([
        'drained-1',
        'drained-2',
        'drained-3',
      ]);
      expect(drain.stderr).toMatch(/\[3\/3\]/);
      const count = await tenantry('run', 'select count(*)::int as n from posts', '--tenant', 'drained-2', '--json');
      expect(JSON.stringify(json(count))).toContain('"n":1');
      const shown = await tenantry('tenants', 'show', 'drained-2', '--json');
      expect(JSON.stringify(json(shown))).toMatch(/"server":"default"/);
      // Text mode: a table and a summary; nothing left to move.
      const again = await tenantry('servers', 'drain', 'drain-src', '--move');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/no tenant to move/);
      expect(again.stdout).toMatch(/0 moved, 0 failed, 0 skipped/);
    },
  );

  it(
    'refuses hostile tenant references, server ids, tiers and file paths with a clear error, changing nothing',
    { timeout: 240_000 },
    async () => {
      const file = join(work, 'hostile-src.tenantry');
      expect((await tenantry('tenants', 'create', 'hostile-src', '--name', 'H', '--server', 'default')).code).toBe(0);
      expect((await tenantry('tenants', 'backup', 'hostile-src', '--out', file)).code).toBe(0);
      // One string of a few families here (each run is a process); the library's tests take every one.
      const families = new Set(['sql', 'path', 'unicode', 'length']);
      const cases = HOSTILE_STRING_CASES.filter(
        (c) => families.has(c.family) && !c.value.startsWith('-') && !c.value.includes('\0'),
      ).filter((c, i, all) => all.findIndex((o) => o.family === c.family) === i);
      for (const { family, value } of cases) {
        const what = `${family}: ${JSON.stringify(value.slice(0, 30))}`;
        for (const args of [
          ['tenants', 'restore', file, '--slug', value],
          ['tenants', 'restore', file, '--slug', 'fine-slug', '--server', value],
          ['tenants', 'clone', 'hostile-src', 'fine-slug', '--isolation', value],
          ['tenants', 'move', 'hostile-src', '--server', value],
          ['servers', 'drain', value, '--move'],
          ['servers', 'drain', 'default', '--move', '--to', value],
          ['tenants', 'backup', value, '--out', join(work, 'x.tenantry')],
          ['tenants', 'restore', join(work, value.replace(/\//g, '_').slice(0, 200) || 'empty'), '--slug', 'fine-slug'],
        ]) {
          const r = await tenantry(...args);
          expect(r.code, `${what}: ${args.slice(0, 2).join(' ')}: ${r.stderr}`).toBeGreaterThan(0);
          expect(r.stderr, what).toMatch(/error/);
        }
      }
      const list = await tenantry('tenants', 'list', '--json');
      expect(JSON.stringify(json(list))).not.toContain('fine-slug');
    },
  );

  it('restore --format pg_dump hands the file to the pg_dump restore, which refuses a Tenantry archive; an unknown format is a usage error', async () => {
    // The restore itself is tested against PostgreSQL 15 in core's mobility-pgdump.test.ts.
    const archive = join(work, 'not-a-dump.tenantry');
    await writeFile(archive, 'TENANTRY-ARCHIVE 1\nrest of it');
    const r = await tenantry('tenants', 'restore', archive, '--format', 'pg_dump', '--slug', 'from-dump');
    expect(r.code).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/ARCHIVE_INVALID|is a Tenantry archive/);
    expect(r.stderr).toMatch(/mobility\.restore|without --format pg_dump/);
    const missing = await tenantry('tenants', 'restore', join(work, 'missing.dump'), '--format', 'pg_dump', '--slug', 'from-dump');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no file/);
    const unknown = await tenantry('tenants', 'restore', archive, '--format', 'sql', '--slug', 'from-dump');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--format must be one of tenantry, pg_dump/);
  });
});
