import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTenancy } from '@tenantry/core';
import { createTestDatabase } from '@tenantry/testing';
import { main } from '../src/cli.js';
import { cleanEnv, runCli, type CliRun } from './run-cli.js';

class Capture {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const db = await createTestDatabase(inject('tenantryServerUrl'));
/** A second "server" (another database) for `servers add`. */
const db2 = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-'));
const migrations = join(work, 'migrations');
await mkdir(migrations);
await writeFile(
  join(migrations, '0001_create_posts.sql'),
  'create table posts (id serial primary key, title text not null);\n-- down\ndrop table posts;\n',
);
/** Fails in a tenant that has a post titled 'poison'. */
const ADD_TAGS = `do $$ begin
  if exists (select 1 from posts where title = 'poison') then raise exception 'poisoned tenant'; end if;
end $$;
alter table posts add column tags text;
-- down
alter table posts drop column tags;
`;

afterAll(async () => {
  await db.drop();
  await db2.drop();
  await rm(work, { recursive: true, force: true });
});

const env = {
  ...cleanEnv(),
  DATABASE_URL: db.url,
  TENANTRY_MIGRATIONS: migrations,
  TENANTRY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
};
const tenantry = (...args: string[]): Promise<CliRun> => runCli(args, { env, cwd: work });
const json = <T = any>(run: CliRun): T => JSON.parse(run.stdout) as T;

describe('tenantry CLI against PostgreSQL', () => {
  it('creates tenants and lists them, as a table and as one JSON document', async () => {
    const created = await tenantry('tenants', 'create', 'alpha', '--name', 'Alpha Inc', '--plan', 'pro', '--json');
    expect(created.code).toBe(0);
    expect(json(created).tenant).toMatchObject({
      slug: 'alpha',
      name: 'Alpha Inc',
      plan: 'pro',
      status: 'ACTIVE',
      schemaVersion: '0001_create_posts',
    });
    for (const slug of ['beta', 'gamma']) {
      const r = await tenantry('tenants', 'create', slug, '--name', slug.toUpperCase());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^Created tenant '${slug}' \\(id [0-9a-f-]{36}\\): ACTIVE at 0001_create_posts, schema on server default\\.$`, 'm'),
      );
    }

    const listed = await tenantry('tenants', 'list', '--json');
    expect(listed.code).toBe(0);
    const page = json<{ items: { slug: string; status: string }[]; nextCursor: string | null }>(listed);
    expect(page.items.map((t) => [t.slug, t.status])).toEqual([
      ['alpha', 'ACTIVE'],
      ['beta', 'ACTIVE'],
      ['gamma', 'ACTIVE'],
    ]);
    expect(page.nextCursor).toBeNull();

    const table = await tenantry('tenants', 'list');
    expect(table.stdout).toMatch(/^slug\s+name\s+status\s+plan\s+version\s+created\s+id$/m);
    expect(table.stdout).toMatch(/^alpha\s+Alpha Inc\s+ACTIVE\s+pro\s+0001_create_posts/m);
    expect(table.stdout).toContain('3 tenants');

    const paged = await tenantry('tenants', 'list', '--limit', '2', '--json');
    const first = json<{ items: { slug: string }[]; nextCursor: string }>(paged);
    expect(first.items.map((t) => t.slug)).toEqual(['alpha', 'beta']);
    const rest = json<{ items: { slug: string }[] }>(
      await tenantry('tenants', 'list', '--limit', '2', '--cursor', first.nextCursor, '--json'),
    );
    expect(rest.items.map((t) => t.slug)).toEqual(['gamma']);
    const all = json<{ items: unknown[] }>(await tenantry('tenants', 'list', '--limit', '1', '--all', '--json'));
    expect(all.items).toHaveLength(3);
  });

  it('migrate --on-error continue: one failing tenant makes the run exit 1; the summary and --json say which', async () => {
    const poisoned = await tenantry('run', "insert into posts (title) values ('poison')", '--tenant', 'beta');
    expect(poisoned.code, poisoned.stderr).toBe(0);
    await writeFile(join(migrations, '0002_add_tags.sql'), ADD_TAGS);

    const dry = await tenantry('migrate', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(json(dry).results.map((r: any) => [r.tenant.slug, r.status, r.applied])).toEqual([
      ['alpha', 'pending', ['0002_add_tags']],
      ['beta', 'pending', ['0002_add_tags']],
      ['gamma', 'pending', ['0002_add_tags']],
    ]);

    const run = await tenantry('migrate', '--on-error', 'continue', '--concurrency', '1');
    expect(run.code).toBe(1);
    // Not a terminal: one plain line per tenant as it finishes.
    expect(run.stdout).toMatch(/^\[1\/3\] alpha migrated \(1 migration, \d+ ms\)$/m);
    expect(run.stdout).toMatch(/^\[2\/3\] beta failed \(MIGRATION_FAILED: migration '0002_add_tags' failed: poisoned tenant\)$/m);
    expect(run.stdout).toMatch(/^\[3\/3\] gamma migrated/m);
    expect(run.stdout).not.toContain('\r');
    // The summary table and the counts.
    expect(run.stdout).toMatch(/^tenant\s+status\s+applied\s+duration\s+error$/m);
    expect(run.stdout).toMatch(/^alpha\s+migrated\s+0002_add_tags\s+\d+ ms$/m);
    expect(run.stdout).toMatch(/^beta\s+failed\s+\d+ ms\s+MIGRATION_FAILED: migration '0002_add_tags' failed: poisoned tenant$/m);
    expect(run.stdout).toContain('3 tenants: 2 migrated, 1 failed · latest 0002_add_tags');

    // Rerun as JSON: the others are up to date, beta (MIGRATION_FAILED) is retried and fails again.
    const again = await tenantry('migrate', '--on-error', 'continue', '--json');
    expect(again.code).toBe(1);
    const summary = json(again);
    expect(summary).toMatchObject({ ok: false, latest: '0002_add_tags', counts: { 'up-to-date': 2, failed: 1 } });
    expect(summary.results.map((r: any) => [r.tenant.slug, r.status])).toEqual([
      ['alpha', 'up-to-date'],
      ['beta', 'failed'],
      ['gamma', 'up-to-date'],
    ]);
    expect(summary.results[1].error).toMatchObject({ code: 'MIGRATION_FAILED', message: expect.stringContaining('poisoned tenant') });
    // Progress went to stderr, so stdout stayed one document.
    expect(again.stderr).toContain('[3/3]');
  });

  it('migrate:status --json reports versions, pending and the failed tenant', async () => {
    const r = await tenantry('migrate:status', '--json');
    expect(r.code).toBe(0);
    const status = json(r);
    expect(status).toMatchObject({ latest: '0002_add_tags', migrations: ['0001_create_posts', '0002_add_tags'], pending: 1, migrating: 0 });
    expect(status.versions).toEqual([
      { version: '0001_create_posts', tenants: 1 },
      { version: '0002_add_tags', tenants: 2 },
    ]);
    expect(status.failed).toEqual([expect.objectContaining({ slug: 'beta', error: expect.stringContaining('poisoned tenant') })]);

    const human = await tenantry('migrate:status');
    expect(human.stdout).toMatch(/^0002_add_tags \(latest\)\s+2$/m);
  });

  it('run prints a result per ACTIVE tenant; --json carries the rows; a failing statement exits 1', async () => {
    const r = await tenantry('run', 'select count(*) from posts', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = json(r);
    // beta is MIGRATION_FAILED, so not routable: every ACTIVE tenant means alpha and gamma.
    expect(out.results.map((x: any) => [x.tenant.slug, x.status, x.value.rows])).toEqual([
      ['alpha', 'ok', [{ count: '0' }]],
      ['gamma', 'ok', [{ count: '0' }]],
    ]);

    const human = await tenantry('run', 'select count(*)::int as n from posts where title <> $1', '--value', 'x');
    expect(human.stdout).toMatch(/^alpha\s+ok\s+n=0\s+\d+ ms$/m);

    const failing = await tenantry('run', 'select 1 / 0');
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^gamma\s+failed\s+\d+ ms\s+22012: division by zero$/m);
  });

  it('doctor reports the failed tenant and the drift, and exits 1', async () => {
    const r = await tenantry('doctor', '--json');
    expect(r.code).toBe(1);
    const report = json(r);
    expect(report.ok).toBe(false);
    const byName = Object.fromEntries(report.checks.map((c: any) => [c.name, c]));
    expect(byName['failed']).toMatchObject({ level: 'ok' });
    expect(byName['migration failed']).toMatchObject({
      level: 'fail',
      message: expect.stringContaining('data intact'),
      tenants: [expect.objectContaining({ slug: 'beta' })],
    });
    expect(byName['version drift'].level).toBe('warn');
    expect(byName['pending'].level).toBe('warn');
    expect(byName['stuck MIGRATING'].level).toBe('ok');
  });

  it('a MIGRATION_FAILED tenant: resume retries it and fails while the cause stays; doctor --fix brings it back once fixed', async () => {
    const again = await tenantry('tenants', 'resume', 'beta');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/MIGRATION_FAILED.*poisoned tenant/);
    const beta = json(await tenantry('tenants', 'show', 'beta', '--json')).tenant;
    expect(beta.status).toBe('MIGRATION_FAILED');
    // The cause fixed (the poisoned row removed, straight in its schema: the tenant is not routable).
    const tenancy = await createTenancy({ registryUrl: db.url, listen: false, reconcileOnStart: false });
    try {
      await tenancy.adminPool().query(`delete from "${beta.physicalName}".posts where title = 'poison'`);
    } finally {
      await tenancy.close();
    }
    const fixed = json(await tenantry('doctor', '--fix', '--json'));
    expect(fixed.retried).toEqual([expect.objectContaining({ tenant: expect.objectContaining({ slug: 'beta' }), status: 'migrated' })]);
    expect(fixed.checks.find((c: any) => c.name === 'migration failed')).toMatchObject({ level: 'ok' });
    expect(json(await tenantry('tenants', 'show', 'beta', '--json')).tenant).toMatchObject({
      status: 'ACTIVE',
      schemaVersion: '0002_add_tags',
    });
  });

  it('an unknown tenant exits 1 with TENANT_NOT_FOUND on stderr', async () => {
    const show = await tenantry('tenants', 'show', 'nope-tenant');
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/^error \[TENANT_NOT_FOUND\]: no tenant 'nope-tenant'/m);
    expect(show.stdout).toBe('');

    const migrate = await tenantry('migrate', '--tenant', 'alpha', '--tenant', 'nope-tenant', '--json');
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain('error [TENANT_NOT_FOUND]');
    expect(json(migrate).error).toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });

  it('migrate:rollback over every tenant needs --all', async () => {
    const refused = await tenantry('migrate:rollback');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('without --all');
    expect(json(await tenantry('tenants', 'show', 'gamma', '--json')).tenant.schemaVersion).toBe('0002_add_tags');
    const all = await tenantry('migrate:rollback', '--all', '--json');
    expect(all.code, all.stderr).toBe(0);
    expect(json(all).counts).toMatchObject({ 'rolled-back': 3, failed: 0 });
    const back = await tenantry('migrate', '--json');
    expect(json(back).counts).toMatchObject({ migrated: 3, failed: 0 });
  });

  it('migrate:rollback undoes the last migration of the tenants asked for', async () => {
    const r = await tenantry('migrate:rollback', '--tenant', 'alpha', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).results.map((x: any) => [x.tenant.slug, x.status, x.applied])).toEqual([['alpha', 'rolled-back', ['0002_add_tags']]]);
    const back = json(await tenantry('tenants', 'show', 'alpha', '--json'));
    expect(back.tenant.schemaVersion).toBe('0001_create_posts');
  });

  it('suspends, resumes, renames and deletes a tenant; show lists the activity', async () => {
    expect((await tenantry('tenants', 'suspend', 'gamma', '--reason', 'unpaid')).stdout).toContain("Tenant 'gamma' is SUSPENDED");
    expect((await tenantry('tenants', 'resume', 'gamma')).code).toBe(0);
    const renamed = await tenantry('tenants', 'rename', 'gamma', 'gamma-two', '--actor', 'ops@example.com');
    expect(renamed.stdout).toContain("Tenant 'gamma' is now 'gamma-two'");

    const refused = await tenantry('tenants', 'delete', 'gamma-two');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('without --yes');
    const deleted = await tenantry('tenants', 'delete', 'gamma-two', '--yes', '--json');
    expect(deleted.code).toBe(0);
    const { tenant } = json(deleted);
    expect(tenant.status).toBe('DELETED');

    const show = json(await tenantry('tenants', 'show', tenant.id, '--json'));
    const mine = ['suspend', 'resume', 'rename', 'delete', 'deleted'];
    expect(show.activity.map((a: any) => a.action).filter((a: string) => mine.includes(a))).toEqual(mine);
    expect(show.activity.find((a: any) => a.action === 'suspend').detail).toEqual({ reason: 'unpaid' });
    expect(show.activity.find((a: any) => a.action === 'rename').actor).toBe('ops@example.com');
    const human = await tenantry('tenants', 'show', tenant.id);
    expect(human.stdout).toMatch(/^status\s+DELETED$/m);
    expect(human.stdout).toMatch(/suspend\s+ACTIVE → SUSPENDED/);
  });

  it('adds, lists, drains and undrains servers; tenants are placed where asked', async () => {
    const added = await runCli(['servers', 'add', 'eu-2', '--url-env', 'EU2_URL', '--capacity', '5', '--json'], {
      env: { ...env, EU2_URL: db2.url },
      cwd: work,
    });
    expect(added.code, added.stderr).toBe(0);
    expect(json(added).server).toMatchObject({ id: 'eu-2', capacity: 5, draining: false, tenants: 0 });
    expect(added.stdout).not.toContain('postgres:postgres@'); // no password in the output

    const placed = await tenantry('tenants', 'create', 'placed', '--name', 'Placed', '--server', 'eu-2', '--json');
    expect(placed.code, placed.stderr).toBe(0);
    expect(json(placed).tenant).toMatchObject({ server: 'eu-2', status: 'ACTIVE' });

    const list = await tenantry('servers', 'list', '--json');
    expect(json(list).servers.map((s: any) => [s.id, s.tenants, s.draining])).toEqual(
      [
        ['default', 2],
        ['eu-2', 1],
      ].map(([id, n]) => [id, n, false]),
    );
    const table = await tenantry('servers', 'list');
    expect(table.stdout).toMatch(/^eu-2\s+\S+@127\.0\.0\.1:\d+\/\S+\s+1\s+5\s+open\s/m);

    expect((await tenantry('servers', 'drain', 'eu-2')).stdout).toContain("Server 'eu-2' is draining");
    const refused = await tenantry('tenants', 'create', 'late', '--name', 'Late', '--server', 'eu-2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[SERVER_DRAINING\]/m);
    const doctor = json(await tenantry('doctor', '--json'));
    expect(doctor.checks.find((c: any) => c.name === 'servers')).toMatchObject({ level: 'warn', items: ['eu-2 (draining)'] });
    expect((await tenantry('servers', 'undrain', 'eu-2')).code).toBe(0);
    expect((await tenantry('servers', 'drain', 'nowhere')).stderr).toMatch(/^error \[SERVER_NOT_FOUND\]/m);
  });

  it('doctor reports a tenant stuck DELETING; doctor --fix settles it', async () => {
    expect((await tenantry('tenants', 'delete', 'beta', '--yes')).code).toBe(0); // out of the way
    expect((await tenantry('tenants', 'create', 'stuck-one', '--name', 'Stuck')).code).toBe(0);
    // As if a delete stopped after marking the tenant: DELETING, schema still there.
    const tenancy = await createTenancy({ registryUrl: db.url, listen: false, reconcileOnStart: false });
    try {
      await tenancy.adminPool().query("update tenantry.tenants set status = 'DELETING' where slug = 'stuck-one'");
    } finally {
      await tenancy.close();
    }

    const before = await tenantry('doctor', '--stuck-after', '0', '--json');
    expect(before.code).toBe(1);
    expect(json(before).checks.find((c: any) => c.name === 'stuck DELETING')).toMatchObject({
      level: 'fail',
      tenants: [expect.objectContaining({ slug: 'stuck-one' })],
    });

    const fixed = await tenantry('doctor', '--fix', '--stuck-after', '0', '--json');
    expect(fixed.code, fixed.stdout).toBe(0);
    const report = json(fixed);
    expect(report.reconciled).toMatchObject({
      finished: [],
      cleaned: [expect.objectContaining({ slug: 'stuck-one', status: 'DELETED' })],
      unreachable: [],
    });
    // Databases are server-wide: other test files' database tenants show up as orphans of this
    // registry. Schemas are per database: this one has none left over.
    expect(report.reconciled.orphans.filter((o: any) => o.kind === 'schema')).toEqual([]);
    expect(report.checks.find((c: any) => c.name === 'stuck DELETING').level).toBe('ok');
    // alpha was rolled back: pending and drift are warnings, not failures.
    expect(report.checks.filter((c: any) => c.level !== 'ok' && c.name !== 'orphans').map((c: any) => [c.name, c.level])).toEqual([
      ['version drift', 'warn'],
      ['pending', 'warn'],
    ]);
  });

  it('reads tenantry.config.json from the current folder; flags override it', async () => {
    const dir = join(work, 'project');
    await mkdir(join(dir, 'db', 'v1'), { recursive: true });
    await writeFile(join(dir, 'db', 'v1', '0001_create_posts.sql'), 'create table posts (id serial primary key, title text not null);\n');
    await writeFile(join(dir, 'tenantry.config.json'), JSON.stringify({ registryUrl: db.url, migrations: '../migrations' }));
    const bare = cleanEnv();
    const fromFile = await runCli(['migrate:status', '--json'], { env: bare, cwd: dir });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(json(fromFile).latest).toBe('0002_add_tags');
    const overridden = await runCli(['migrate:status', '--migrations', 'db/v1', '--json'], { env: bare, cwd: dir });
    expect(json(overridden).latest).toBe('0001_create_posts');

    await writeFile(join(dir, 'tenantry.config.json'), JSON.stringify({ registryURL: db.url }));
    const typo = await runCli(['tenants', 'list'], { env: bare, cwd: dir });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("unknown key 'registryURL'");
  });

  it('without a registry URL it says how to set one', async () => {
    const r = await runCli(['tenants', 'list'], { env: cleanEnv(), cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: no registry database URL: set DATABASE_URL, pass --database-url <url>, or put "registryUrl" in tenantry.config.json/m,
    );
  });
});

describe('tenantry usage errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /^error: no command given\n\nUsage: tenantry <command>/],
    ['an unknown command', ['migrat'], /^error: unknown command 'migrat'; did you mean 'migrate'\?\n\nUsage: tenantry <command>/],
    ['an unknown subcommand', ['tenants', 'frob'], /^error: unknown subcommand 'frob' of 'tenantry tenants'/],
    [
      'an unknown flag',
      ['migrate', '--concurency', '2'],
      /^error: unknown flag '--concurency' for 'tenantry migrate'; did you mean '--concurrency'\?\n\nUsage: tenantry migrate/,
    ],
    ['a missing argument', ['tenants', 'create'], /^error: 'tenantry tenants create' needs <slug>/],
    ['a missing required flag', ['tenants', 'create', 'acme'], /^error: 'tenantry tenants create' needs --name <name>/],
    ['an extra argument', ['tenants', 'show', 'a', 'b'], /^error: unexpected argument 'b' for 'tenantry tenants show'/],
    ['a flag without its value', ['migrate', '--canary'], /^error: --canary needs a value/],
    ['a malformed number', ['migrate', '--concurrency', 'lots'], /^error: --concurrency must be a whole number, got 'lots'/],
    [
      'a value outside the choices',
      ['migrate', '--on-error', 'ignore'],
      /^error: --on-error must be one of stop, continue, rollback-all; got 'ignore'/,
    ],
    ['delete without --yes', ['tenants', 'delete', 'acme'], /^error: refusing to delete tenant 'acme' without --yes/],
    [
      'servers add without a URL',
      ['servers', 'add', 'eu-2'],
      /^error: 'tenantry servers add' needs exactly one of --url <url> or --url-env <VAR>/,
    ],
    [
      'an unknown isolation',
      ['tenants', 'create', 'acme', '--name', 'Acme', '--isolation', 'cloud'],
      /^error: --isolation must be one of schema, database; got 'cloud'/,
    ],
  ];
  // Refused before any connection (the URL points nowhere): run in-process through main(), the
  // function the bin calls; the subprocess cases below check the real exit codes.
  it.each(cases)('%s exits 2 and says why on stderr', async (_name, args, stderr) => {
    const io = { stdout: new Capture(), stderr: new Capture(), env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, cwd: work };
    expect(await main(args, io)).toBe(2);
    expect(io.stderr.text).toMatch(stderr);
    expect(io.stdout.text).toBe('');
  });

  it('the process exits 2 on a usage error and 0 on --help', async () => {
    const bad = await runCli(['tenants', 'list', '--bogus'], { env: cleanEnv(), cwd: work });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown flag '--bogus' for 'tenantry tenants list'\n\nUsage: tenantry tenants list \[flags\]/);
    const missing = await runCli(['servers', 'drain'], { env: cleanEnv(), cwd: work });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: 'tenantry servers drain' needs <id>/);

    const help = await runCli(['migrate', '--help'], { env: cleanEnv(), cwd: work });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tenantry migrate \[flags\]/);
    expect(help.stdout).toContain('--on-error <policy>');
    const top = await runCli(['--help'], { env: cleanEnv(), cwd: work });
    expect(top.stdout).toMatch(/^ {2}servers add <id>\s+Register a PostgreSQL server/m);
  });
});
