import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@tenantry/testing';
import { cleanEnv, runCli, type CliRun } from './run-cli.js';

const db = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-shared-'));
const migrations = join(work, 'migrations');
const shared = join(work, 'shared');
await mkdir(migrations);
await mkdir(shared);
await writeFile(join(migrations, '0001_create_posts.sql'), 'create table posts (id serial primary key, title text not null);\n');
await writeFile(join(shared, '0001_plans.sql'), "create table plans (id text primary key);\ninsert into plans values ('starter');\n");
afterAll(async () => {
  await db.drop();
  await rm(work, { recursive: true, force: true });
});
const env = { ...cleanEnv(), DATABASE_URL: db.url, TENANTRY_MIGRATIONS: migrations, TENANTRY_SHARED_MIGRATIONS: shared };
const tenantry = (...args: string[]): Promise<CliRun> => runCli(args, { env, cwd: work });

describe('tenantry migrate --shared, migrate:status --shared', () => {
  it('applies the shared set with progress and a summary, reports it with --json, and refuses tenant-only flags', async () => {
    expect((await tenantry('tenants', 'create', 'alpha', '--name', 'Alpha')).code).toBe(0);
    expect((await tenantry('tenants', 'create', 'beta', '--name', 'Beta', '--isolation', 'database')).code).toBe(0);
    await writeFile(join(shared, '0002_regions.sql'), 'create table regions (id text primary key);\n');

    const pending = await tenantry('migrate:status', '--shared', '--json');
    expect(pending.code, pending.stderr).toBe(0);
    expect(JSON.parse(pending.stdout)).toMatchObject({ schema: 'shared', latest: '0002_regions', pending: 2 });

    const run = await tenantry('migrate', '--shared', '--concurrency', '1');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\[1\/2\] default \(server database\) migrated \(1 migration, \d+ ms\)$/m);
    expect(run.stdout).toMatch(/^\[2\/2\] default\/beta migrated/m);
    expect(run.stdout).toContain('2 databases: 2 migrated · schema shared · latest 0002_regions');

    const again = await tenantry('migrate', '--shared', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      ok: true,
      counts: { migrated: 0, 'up-to-date': 2, failed: 0 },
      results: [
        { server: 'default', tenant: null, status: 'up-to-date' },
        { server: 'default', tenant: { slug: 'beta' }, status: 'up-to-date' },
      ],
    });
    const status = await tenantry('migrate:status', '--shared');
    expect(status.stdout).toMatch(/^pending\s+0 databases$/m);

    const refused = await tenantry('migrate', '--shared', '--tenant', 'alpha');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--tenant does not apply to --shared');
    const unconfigured = await runCli(['migrate', '--shared'], { env: { ...env, TENANTRY_SHARED_MIGRATIONS: '' }, cwd: work });
    expect(unconfigured.code).not.toBe(0);
    expect(unconfigured.stderr).toContain('no shared migrations configured');
  });
});
