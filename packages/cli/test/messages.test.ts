import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@tenantry/testing';
import { main } from '../src/cli.js';
import { Output, type OutputStream } from '../src/output.js';

class Capture implements OutputStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns?: number,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const db = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-messages-'));
const oneMigration = join(work, 'one');
const twoMigrations = join(work, 'two');
await mkdir(oneMigration);
await mkdir(twoMigrations);
for (const dir of [oneMigration, twoMigrations])
  await writeFile(join(dir, '0001_create_posts.sql'), 'create table posts (id serial primary key);\n-- down\ndrop table posts;\n');
await writeFile(
  join(twoMigrations, '0002_add_title.sql'),
  'alter table posts add column title text;\n-- down\nalter table posts drop column title;\n',
);

afterAll(async () => {
  await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function tenantry(args: string[], env: Record<string, string> = { DATABASE_URL: db.url }) {
  const io = { stdout: new Capture(), stderr: new Capture(), env, cwd: work };
  const code = await main(args, io);
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

describe('CLI messages name the cause and the command that helps', () => {
  it('an unknown tenant hints `tenantry tenants list`, not the library call, as text and as JSON', async () => {
    const text = await tenantry(['tenants', 'show', 'no-such-tenant']);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe("error [TENANT_NOT_FOUND]: no tenant 'no-such-tenant'; list tenants with `tenantry tenants list`\n");
    const json = await tenantry(['tenants', 'suspend', 'no-such-tenant', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'TENANT_NOT_FOUND',
      message: expect.stringContaining('`tenantry tenants list`'),
    });
    expect(json.stdout + json.stderr).not.toContain('tenancy.tenants.list()');
  });

  it.each([
    ['tenants create', ['tenants', 'create', 'Bad_Slug', '--name', 'Bad']],
    ['tenants show', ['tenants', 'show', 'Bad_Slug']],
    ['tenants rename (new slug)', ['tenants', 'rename', 'acme', 'x']],
    ['migrate --tenant', ['migrate', '--tenant', 'acme', '--tenant', 'no spaces']],
  ])('a malformed slug in %s is a usage error: exit 2 with the rule, before connecting', async (_name, args) => {
    // The URL points nowhere: the slug must be refused before any connection is tried.
    const run = await tenantry(args, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: invalid tenant (id or )?slug .*\n\nUsage: tenantry /);
  });

  it('doctor calls every tenant on one version "no drift", even when a newer migration is pending', async () => {
    const created = await tenantry(['tenants', 'create', 'drift-a', '--name', 'A', '--migrations', oneMigration]);
    expect(created.code).toBe(0);
    expect((await tenantry(['tenants', 'create', 'drift-b', '--name', 'B', '--migrations', oneMigration])).code).toBe(0);
    const doctor = await tenantry(['doctor', '--json', '--migrations', twoMigrations]);
    const checks = Object.fromEntries(
      (JSON.parse(doctor.stdout).checks as { name: string; level: string; message: string }[]).map((c) => [c.name, c]),
    );
    expect(checks['version drift']).toEqual({
      name: 'version drift',
      level: 'ok',
      message: 'no drift: every tenant is at 0001_create_posts (0002_add_title is the latest: see pending)',
    });
    expect(checks['pending']!.level).toBe('warn');
  });

  it('reads the config file named by TENANTRY_CONFIG (what `npm start` writes), and names the variable when it is missing', async () => {
    const file = join(work, 'from-env.json');
    await writeFile(file, JSON.stringify({ registryUrl: db.url }));
    const listed = await tenantry(['tenants', 'list', '--json'], { TENANTRY_CONFIG: file });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).items).toEqual(expect.any(Array));
    const missing = await tenantry(['tenants', 'list'], { TENANTRY_CONFIG: join(work, 'nope.json') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`config file ${join(work, 'nope.json')} (from TENANTRY_CONFIG) does not exist`);
  });
});

describe('migrate progress line', () => {
  const long = `tenant-with-a-long-slug migrated (${'x'.repeat(150)})`;
  function draw(columns: number): string[] {
    const stdout = new Capture(true, columns);
    const bar = new Output({ stdout, stderr: new Capture() }, { json: false, env: { NO_COLOR: '1' } }).progress(1000);
    bar.update(7, long, '12 failed');
    bar.update(1000, long, '12 failed');
    return stdout.text.split('\r\u001b[2K').filter((l) => l !== '');
  }

  it.each([24, 40, 80, 200])('fits a %i-column terminal, so it is redrawn in place', (columns) => {
    const lines = draw(columns);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(columns - 1);
  });

  it('uses the width of a wide terminal rather than 80 columns', () => {
    const [line] = draw(300);
    expect(line).toContain(long);
    expect(line).toMatch(/^\[-+\] {4}7\/1000 · 12 failed · tenant-with/);
  });
});

describe('the tenantry bin', () => {
  const bin = fileURLToPath(new URL('../bin/tenantry.js', import.meta.url));

  it('is a committed file that runs the built CLI (npm links it at install time, before dist/ exists)', () => {
    const run = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const usage = spawnSync(process.execPath, [bin, 'tenants', 'show', 'Bad_Slug'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });
});
