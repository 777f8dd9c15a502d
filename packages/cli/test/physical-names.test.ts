import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@tenantry/testing';
import { cleanEnv, runCli, type CliRun } from './run-cli.js';

const db = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-pn-'));
const migrations = join(work, 'migrations');
await mkdir(migrations);
await writeFile(join(migrations, '0001_create_posts.sql'), 'create table posts (id serial primary key, title text not null);\n');
afterAll(async () => {
  await db.drop();
  await rm(work, { recursive: true, force: true });
});
const env = { ...cleanEnv(), DATABASE_URL: db.url, TENANTRY_MIGRATIONS: migrations };
const tenantry = (...args: string[]): Promise<CliRun> => runCli(args, { env, cwd: work });
// Databases and roles are the server's: names get this file's suffix.
const sfx = randomBytes(3).toString('hex');

describe('tenantry tenants create --physical-name, tenants rename-physical', () => {
  it('creates a database tenant under the name given and renames it; refuses a hostile name with INVALID_ARGUMENT', async () => {
    const created = await tenantry(
      'tenants',
      'create',
      'acme',
      '--name',
      'Acme',
      '--isolation',
      'database',
      '--physical-name',
      `tenant_acmecorp_${sfx}`,
      '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).tenant).toMatchObject({ physicalName: `tenant_acmecorp_${sfx}`, status: 'ACTIVE' });

    const renamed = await tenantry('tenants', 'rename-physical', 'acme', `tenant_acme_${sfx}`, '--drain-ms', '100');
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(renamed.stdout).toContain(`its database is now tenant_acme_${sfx} on server default`);
    const shown = await tenantry('tenants', 'show', 'acme', '--json');
    expect(JSON.parse(shown.stdout).tenant.physicalName).toBe(`tenant_acme_${sfx}`);

    const hostile = await tenantry('tenants', 'rename-physical', 'acme', 'x"; drop database postgres; --', '--json');
    expect(hostile.code).not.toBe(0);
    expect(hostile.stdout + hostile.stderr).toContain('INVALID_ARGUMENT');
    const taken = await tenantry('tenants', 'create', 'other', '--name', 'O', '--physical-name', `tenant_acme_${sfx}`);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('TENANT_EXISTS');
    const badFlag = await tenantry('tenants', 'rename-physical', 'acme', `x_${sfx}`, '--drain-ms', 'soon');
    expect(badFlag.code).toBe(2);
    await tenantry('tenants', 'delete', 'acme');
  });
});
