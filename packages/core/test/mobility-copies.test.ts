// The staging copies of restores in place and moves, and the old copies a move retains, are
// registry rows (reconcile and purge-moved need them) but never tenants: no list, count,
// resolution, routing, migration or change by a caller's reference reaches them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { backupToBuffer, fill, mobilityMigrations, streamOf } from './mobility-fixture.js';
import type { Tenancy, Tenant } from '../src/index.js';

const h = await setupHarness();
let tenancy: Tenancy;

beforeAll(async () => {
  tenancy = await h.tenancy({ migrations: mobilityMigrations() });
}, 60_000);
afterAll(async () => {
  await tenancy?.close();
});

async function allListed(status?: Tenant['status']): Promise<string[]> {
  const slugs: string[] = [];
  let page = await tenancy.tenants.list({ limit: 2, ...(status ? { status } : {}) });
  slugs.push(...page.items.map((t) => t.slug));
  while (page.nextCursor) {
    page = await tenancy.tenants.list({ limit: 2, cursor: page.nextCursor, ...(status ? { status } : {}) });
    slugs.push(...page.items.map((t) => t.slug));
  }
  return slugs;
}

/** Every way a caller can reach a tenant by reference: each must say the copy does not exist. */
async function expectUnreachable(ref: string, what: string): Promise<void> {
  const notFound = { code: 'TENANT_NOT_FOUND' };
  await expect(tenancy.tenants.get(ref), `${what}: get`).rejects.toMatchObject(notFound);
  await expect(tenancy.tenants.resume(ref), `${what}: resume`).rejects.toMatchObject(notFound);
  await expect(tenancy.tenants.suspend(ref), `${what}: suspend`).rejects.toMatchObject(notFound);
  await expect(tenancy.tenants.delete(ref), `${what}: delete`).rejects.toMatchObject(notFound);
  await expect(
    tenancy.withTenant(ref, (db) => db.query('select 1')),
    `${what}: withTenant`,
  ).rejects.toMatchObject(notFound);
  await expect(
    tenancy.forEachTenant((db) => db.query('select 1'), { tenants: [ref] }),
    `${what}: forEachTenant`,
  ).rejects.toMatchObject(notFound);
  await expect(tenancy.migrate({ tenants: [ref] }), `${what}: migrate`).rejects.toMatchObject(notFound);
  await expect(tenancy.mobility.move(ref, { isolation: 'database' }), `${what}: move`).rejects.toMatchObject(notFound);
}

async function registryRow(id: string): Promise<{ slug: string; status: string; kind: string } | undefined> {
  const { rows } = await h.admin.query('select slug, status, kind from tenantry.tenants where id = $1', [id]);
  return rows[0] as { slug: string; status: string; kind: string } | undefined;
}

describe('mobility copies are not tenants', () => {
  it('a staging copy during a move and a retained old copy after it are never listed, counted, resolved, routed or migrated', async () => {
    await tenancy.tenants.create({ slug: 'copies-src', name: 'Src' });
    await tenancy.tenants.create({ slug: 'copies-bystander', name: 'Bystander' });
    await fill(tenancy, 'copies-src', 5);
    const listedBefore = await allListed();
    const countsBefore = await tenancy.tenants.countByStatus();
    const versionsBefore = (await tenancy.migrationStatus()).versions;

    // While the move runs: look at the staging copy once its container is made.
    let staging: { id: string; slug: string } | undefined;
    const moved = await tenancy.mobility.move(
      'copies-src',
      { isolation: 'database', retainHours: 1 },
      {
        onStep: async (step) => {
          if (step !== 'container-created') return;
          const { rows } = await h.admin.query(`select id, slug from tenantry.tenants where metadata->>'tenantry.copyOf' is not null
                                                  and status = 'PROVISIONING'`);
          expect(rows, 'one staging row').toHaveLength(1);
          staging = rows[0] as { id: string; slug: string };
          expect(staging.slug).toMatch(/^tenantry-move-[0-9a-f]{8}$/);
          expect(await allListed(), 'list during the move').toEqual(listedBefore);
          expect(await allListed('PROVISIONING'), 'list by status during the move').toEqual([]);
          expect((await tenancy.tenants.countByStatus()).PROVISIONING, 'count during the move').toBe(0);
          await expectUnreachable(staging.id, 'staging copy by id');
          await expectUnreachable(staging.slug, 'staging copy by slug');
        },
      },
    );
    expect(staging, 'the staging step ran').toBeDefined();
    expect(moved.oldCopy).not.toBeNull();

    // After it: the retained old copy is a SUSPENDED registry row of kind 'copy'.
    const old = (await registryRow(moved.oldCopy!))!;
    expect(old).toMatchObject({ status: 'SUSPENDED', kind: 'copy' });
    expect(old.slug).toMatch(/^tenantry-old-[0-9a-f]{8}$/);
    expect(await allListed()).toEqual(listedBefore);
    expect(await allListed('SUSPENDED')).toEqual([]);
    expect(await tenancy.tenants.countByStatus()).toEqual(countsBefore);
    expect((await tenancy.migrationStatus()).versions).toEqual(versionsBefore);
    await expectUnreachable(moved.oldCopy!, 'old copy by id');
    await expectUnreachable(old.slug, 'old copy by slug');
    // Work across tenants and a migration run reach the tenants only.
    const each = await tenancy.forEachTenant(async (db) => (await db.query('select 1 as one')).rows.length);
    expect(each.map((r) => r.tenant.slug).sort()).toEqual(['copies-bystander', 'copies-src']);
    const run = await tenancy.migrate();
    expect(run.results.map((r) => r.tenant.slug).sort()).toEqual(['copies-bystander', 'copies-src']);
    // Nothing of the above touched the copy; purge-moved still finds and drops it.
    expect(await registryRow(moved.oldCopy!)).toMatchObject({ status: 'SUSPENDED' });
    const purged = await tenancy.mobility.purgeMoved({ now: new Date(Date.now() + 2 * 3_600_000) });
    expect(purged).toEqual([{ tenant: moved.tenant.id, oldCopy: moved.oldCopy }]);
    expect(await registryRow(moved.oldCopy!)).toMatchObject({ status: 'DELETED' });
  });

  it("a copy's generated slug never takes a slug from a tenant, and a tenant's never blocks a copy", async () => {
    await tenancy.tenants.create({ slug: 'slug-src', name: 'Src' });
    const moved = await tenancy.mobility.move('slug-src', { isolation: 'database', retainHours: 1 });
    const old = (await registryRow(moved.oldCopy!))!;
    // A tenant may hold the very slug the retained copy carries.
    const twin = await tenancy.tenants.create({ slug: old.slug, name: 'Twin' });
    expect((await tenancy.tenants.get(old.slug)).id).toBe(twin.id);
    await expect(tenancy.withTenant(old.slug, async () => 'routed')).resolves.toBe('routed');
    // A restore in place (whose staging and old copy are copies too) works beside it.
    const { archive } = await backupToBuffer(tenancy, 'slug-src');
    await expect(tenancy.mobility.restoreInPlace('slug-src', streamOf(archive))).resolves.toMatchObject({ status: 'ACTIVE' });
    expect((await tenancy.tenants.get(old.slug)).id).toBe(twin.id);
  });
});
