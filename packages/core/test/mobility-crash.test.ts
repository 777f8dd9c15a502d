import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer, TEST_SERVER_FLAGS, type EmbeddedServer } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import { backupToBuffer, fill, mobilityMigrations, snapshotOf, containers as containersOf } from './mobility-fixture.js';
import type { MobilityStep, Tenancy } from '../src/index.js';

// A child process restores or moves a tenant and SIGKILLs itself at one step of it (as
// fleet.test.ts kills creates); then a start (createTenancy, which reconciles) must leave the
// tenant whole on exactly one placement — or, for a restore into a new tenant, cleanly gone:
// no registry row holding the slug, no schema or database left on any server.

const h = await setupHarness();
const MIGRATIONS = mobilityMigrations();
const KEY = randomBytes(32).toString('hex');
const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tenantry-mobility-crash-'));
let other: EmbeddedServer;
let tenancy: Tenancy;

beforeAll(async () => {
  other = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
  tenancy = await h.tenancy({ migrations: MIGRATIONS, encryptionKey: KEY });
  await tenancy.servers.add({ id: 'other', url: other.url });
}, 60_000);
afterAll(async () => {
  await other?.stop();
});

type Action = 'restore' | 'restore-in-place' | 'move';

async function killedAt(step: MobilityStep, action: Action, slug: string, file: string, server: string, isolation: string): Promise<void> {
  const script = `
    const { createTenancy } = await import(${JSON.stringify(core)});
    const { createReadStream } = await import('node:fs');
    const tenancy = await createTenancy({ registryUrl: process.env.URL, migrations: process.env.MIGRATIONS, encryptionKey: process.env.KEY, reconcileOnStart: false });
    const options = { onStep: (step) => { if (step === process.env.STEP) process.kill(process.pid, 'SIGKILL'); } };
    const { ACTION, SLUG, FILE, SERVER, ISOLATION } = process.env;
    if (ACTION === 'restore') await tenancy.mobility.restore(createReadStream(FILE), { slug: SLUG, server: SERVER, isolation: ISOLATION }, options);
    else if (ACTION === 'restore-in-place') await tenancy.mobility.restoreInPlace(SLUG, createReadStream(FILE), options);
    else await tenancy.mobility.move(SLUG, { server: SERVER, isolation: ISOLATION, retainHours: 0 }, options);
    process.exit(3);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      URL: h.db.url,
      MIGRATIONS,
      KEY,
      STEP: step,
      ACTION: action,
      SLUG: slug,
      FILE: file,
      SERVER: server,
      ISOLATION: isolation,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  expect(signal, `child should die at ${step} (exit code ${code}): ${stderr}`).toBe('SIGKILL');
}

const containers = (url: string): Promise<string[]> => containersOf(url, h.db.url);
const everywhere = async (): Promise<string[]> => [...(await containers(h.db.url)), ...(await containers(other.url))].sort();

/** A start after the kill: reconcile until nothing is left PROVISIONING, DELETING or running (the killed backends let go a moment later). */
async function restart(): Promise<Tenancy> {
  const fresh = await h.tenancy({ migrations: MIGRATIONS, encryptionKey: KEY });
  await expect
    .poll(
      async () => {
        await fresh.reconcile();
        const { rows } = await h.admin.query<{ n: number }>(
          `select (select count(*) from tenantry.tenants where status in ('PROVISIONING', 'DELETING'))
                + (select count(*) from tenantry.mobility_jobs where state = 'running') as n`,
        );
        return Number(rows[0]!.n);
      },
      { timeout: 20_000, interval: 200 },
    )
    .toBe(0);
  return fresh;
}

describe('a process killed at every step of a restore or a move', () => {
  it(
    'restore into a new tenant: after a start the tenant is whole and ACTIVE, or gone with its slug free and no container left',
    { timeout: 240_000 },
    async () => {
      await tenancy.tenants.create({ slug: 'crash-src', name: 'S', server: 'default' });
      await fill(tenancy, 'crash-src', 15);
      const expected = await snapshotOf(tenancy, 'crash-src');
      const { archive } = await backupToBuffer(tenancy, 'crash-src');
      const file = join(dir, 'crash-src.tenantry');
      writeFileSync(file, archive);
      const cases: { server: string; isolation: string; steps: MobilityStep[] }[] = [
        { server: 'default', isolation: 'schema', steps: ['staging-registered', 'table-loaded', 'data-verified', 'activated'] },
        {
          server: 'other',
          isolation: 'database',
          steps: ['staging-registered', 'container-created', 'table-loaded', 'data-verified', 'activated'],
        },
      ];
      let n = 0;
      for (const c of cases) {
        for (const step of c.steps) {
          const what = `restore to a ${c.isolation} tenant on ${c.server} killed at ${step}`;
          const slug = `crash-new-${n++}`;
          const before = await everywhere();
          await killedAt(step, 'restore', slug, file, c.server, c.isolation);
          const fresh = await restart();
          if (step === 'activated') {
            const t = await fresh.tenants.get(slug);
            expect(t.status, what).toBe('ACTIVE');
            expect(await snapshotOf(fresh, slug), what).toEqual(expected);
            expect(await everywhere(), `${what}: one new container`).toEqual([...before, t.physicalName].sort());
          } else {
            await expect(fresh.tenants.get(slug), `${what}: the slug is free`).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
            expect(await everywhere(), `${what}: nothing is left`).toEqual(before);
          }
        }
      }
    },
  );

  it(
    'restore in place and move: after a start the tenant is ACTIVE on exactly one placement, with the old data before the switch and the archived data after',
    { timeout: 300_000 },
    async () => {
      const cases: { action: Action; server: string; isolation: string; steps: MobilityStep[] }[] = [
        {
          action: 'restore-in-place',
          server: 'default',
          isolation: 'schema',
          steps: ['suspended', 'staging-registered', 'table-loaded', 'data-verified', 'switched', 'old-copy-dropped'],
        },
        {
          action: 'move',
          server: 'other',
          isolation: 'database',
          steps: ['suspended', 'staging-registered', 'container-created', 'table-loaded', 'data-verified', 'switched', 'old-copy-dropped'],
        },
      ];
      let n = 0;
      for (const c of cases) {
        for (const step of c.steps) {
          const what = `${c.action} killed at ${step}`;
          const slug = `crash-in-${n++}`;
          const t = await tenancy.tenants.create({ slug, name: 'C', server: 'default' });
          await fill(tenancy, slug, 8);
          const archived = await snapshotOf(tenancy, slug);
          const { archive } = await backupToBuffer(tenancy, slug);
          const file = join(dir, `${slug}.tenantry`);
          writeFileSync(file, archive);
          // After the backup the live data moves on: a restore in place must bring back the archive.
          await tenancy.withTenant(slug, async (db) => {
            await db.query(`insert into authors (name) values ('after the backup')`);
          });
          const live = await snapshotOf(tenancy, slug);
          const before = await everywhere();
          await killedAt(step, c.action, slug, file, c.server, c.isolation);
          const fresh = await restart();
          const now = await fresh.tenants.get(t.id);
          expect(now.status, what).toBe('ACTIVE');
          const switched = step === 'switched' || step === 'old-copy-dropped';
          if (!switched) {
            expect(now, `${what}: still on its old copy`).toMatchObject({
              physicalName: t.physicalName,
              server: 'default',
              isolation: 'schema',
            });
            expect(await snapshotOf(fresh, slug), what).toEqual(live);
            expect(await everywhere(), `${what}: the new copy is gone`).toEqual(before);
          } else {
            expect(now.physicalName, what).not.toBe(t.physicalName);
            expect(now).toMatchObject({ server: c.server, isolation: c.isolation });
            expect(await snapshotOf(fresh, slug), what).toEqual(c.action === 'move' ? live : archived);
            const after = await everywhere();
            expect(after, `${what}: the old copy is dropped`).not.toContain(t.physicalName);
            expect(after, `${what}: exactly the new copy added`).toEqual(
              [...before.filter((x) => x !== t.physicalName), now.physicalName].sort(),
            );
          }
          // Usable: a write and a read as its role.
          const rows = await fresh.withTenant(slug, async (db) => {
            await db.query(`insert into authors (name) values ('after the crash')`);
            return (await db.query<{ n: number }>(`select count(*)::int as n from authors where name = 'after the crash'`)).rows[0]!.n;
          });
          expect(rows, what).toBe(1);
        }
      }
    },
  );
});
