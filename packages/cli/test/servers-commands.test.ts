import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@tenantry/testing';
import { cleanEnv, runCli, type CliRun } from './run-cli.js';

const db = await createTestDatabase(inject('tenantryServerUrl'));
/** A second "server" (another database). */
const db2 = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-servers-'));
await mkdir(join(work, 'migrations'));

afterAll(async () => {
  await db.drop();
  await db2.drop();
  await rm(work, { recursive: true, force: true });
});

const env = {
  ...cleanEnv(),
  DATABASE_URL: db.url,
  TENANTRY_MIGRATIONS: join(work, 'migrations'),
  TENANTRY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  EU2_URL: db2.url,
};
const tenantry = (...args: string[]): Promise<CliRun> => runCli(args, { env, cwd: work });
const json = <T = any>(run: CliRun): T => JSON.parse(run.stdout) as T;

describe('tenantry servers update | remove', () => {
  it('updates capacity, replica and URL; removes a server only once no live tenant is there (--force for deleted ones)', async () => {
    expect((await tenantry('servers', 'add', 'eu-2', '--url-env', 'EU2_URL')).code).toBe(0);
    const updated = await tenantry('servers', 'update', 'eu-2', '--capacity', '9', '--replica-url', db2.url, '--json');
    expect(updated.code, updated.stderr).toBe(0);
    expect(json(updated).server).toMatchObject({ id: 'eu-2', capacity: 9 });
    expect(json(updated).server.replicaHost).toContain('127.0.0.1');
    expect(updated.stdout).not.toContain('postgres:postgres@');
    const unlimited = await tenantry(
      'servers',
      'update',
      'eu-2',
      '--capacity',
      'unlimited',
      '--no-replica',
      '--url-env',
      'EU2_URL',
      '--json',
    );
    expect(unlimited.code, unlimited.stderr).toBe(0);
    expect(json(unlimited).server).toMatchObject({ capacity: null, replicaHost: null });
    const nothing = await tenantry('servers', 'update', 'eu-2');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/needs at least one of --capacity/);

    expect((await tenantry('tenants', 'create', 'lives', '--name', 'L', '--server', 'eu-2')).code).toBe(0);
    const inUse = await tenantry('servers', 'remove', 'eu-2', '--force');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^error \[SERVER_IN_USE\]: server 'eu-2' has 1 live tenant/m);
    expect((await tenantry('tenants', 'delete', 'lives', '--yes')).code).toBe(0);
    expect((await tenantry('servers', 'remove', 'eu-2')).stderr).toMatch(/^error \[SERVER_IN_USE\].*force/m);
    const removed = await tenantry('servers', 'remove', 'eu-2', '--force');
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain("Removed server 'eu-2'.");
    expect(json(await tenantry('servers', 'list', '--json')).servers.map((s: any) => s.id)).toEqual(['default']);
    expect((await tenantry('servers', 'remove', 'eu-2')).stderr).toMatch(/^error \[SERVER_NOT_FOUND\]/m);
  });
});
