import { describe, expect, it } from 'vitest';
import { setupHarness, FAILING_MIGRATIONS } from './helpers.js';
import { migrationList, TenantryError } from '../src/index.js';

const h = await setupHarness();

async function schemaExists(name: string): Promise<boolean> {
  const { rowCount } = await h.admin.query('select 1 from pg_namespace where nspname = $1', [name]);
  return rowCount === 1;
}

describe('provisioning', () => {
  it('creates the schema with every migration and its ledger, mirrored in the registry', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'prov', name: 'Prov', plan: 'pro', metadata: { region: 'eu' } });
    expect(t).toMatchObject({
      slug: 'prov',
      name: 'Prov',
      status: 'ACTIVE',
      isolation: 'schema',
      server: 'default',
      plan: 'pro',
      schemaVersion: '0002_add_owner',
      errorMessage: null,
    });
    expect(t.physicalName).toBe(`t_${t.id.replace(/-/g, '')}`);
    expect(t.lastMigrationAt).toBeInstanceOf(Date);
    expect(await schemaExists(t.physicalName)).toBe(true);
    const ledger = await h.admin.query(`select name, checksum from "${t.physicalName}"._tenantry_migrations order by name`);
    expect(ledger.rows.map((r) => r.name)).toEqual(['0001_create_posts', '0002_add_owner']);
    const mirror = await h.admin.query('select name, checksum from tenantry.tenant_migrations where tenant_id = $1 order by name', [t.id]);
    expect(mirror.rows).toEqual(ledger.rows);
    const activity = await tenancy.tenants.activity('prov');
    expect(activity.map((a) => [a.action, a.fromStatus, a.toStatus])).toEqual([
      ['create', null, 'PROVISIONING'],
      ['provisioned', 'PROVISIONING', 'ACTIVE'],
    ]);
  });

  it('a failing migration leaves no schema and a FAILED tenant whose activity says why', async () => {
    const tenancy = await h.tenancy({ migrations: FAILING_MIGRATIONS });
    const err = await tenancy.tenants.create({ slug: 'broken', name: 'Broken' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenantryError);
    expect(err).toMatchObject({ code: 'PROVISIONING_FAILED', context: { tenant: 'broken', migration: '0002_broken' } });
    expect((err as Error).message).toMatch(/division by zero/);
    const t = await tenancy.tenants.get('broken');
    expect(t.status).toBe('FAILED');
    expect(t.errorMessage).toMatch(/0002_broken.*division by zero/);
    expect(await schemaExists(t.physicalName)).toBe(false);
    const { rowCount } = await h.admin.query('select 1 from tenantry.tenant_migrations where tenant_id = $1', [t.id]);
    expect(rowCount).toBe(0);
    const activity = await tenancy.tenants.activity(t.id);
    expect(activity.at(-1)).toMatchObject({ action: 'failed', fromStatus: 'PROVISIONING', toStatus: 'FAILED' });
    expect(activity.at(-1)!.error).toMatch(/division by zero/);
    await expect(tenancy.withTenant('broken', (db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_NOT_READY' });
    await expect(tenancy.tenants.create({ slug: 'broken', name: 'Again' })).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    // Deleting the FAILED tenant frees the slug.
    await tenancy.tenants.delete('broken');
    const healthy = await h.tenancy();
    expect((await healthy.tenants.create({ slug: 'broken', name: 'Fixed' })).status).toBe('ACTIVE');
  });

  it('20 concurrent creates of one slug: exactly one tenant, 19 TENANT_EXISTS, no stray schema', async () => {
    const tenancy = await h.tenancy({ pool: { max: 5 } });
    const before = await h.admin.query("select count(*)::int as n from pg_namespace where nspname like 't\\_%'");
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => tenancy.tenants.create({ slug: 'race', name: `Race ${i}` })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(19);
    for (const f of failed) expect(f.reason).toMatchObject({ code: 'TENANT_EXISTS' });
    const rows = await h.admin.query("select status from tenantry.tenants where slug = 'race'");
    expect(rows.rows).toEqual([{ status: 'ACTIVE' }]);
    const after = await h.admin.query("select count(*)::int as n from pg_namespace where nspname like 't\\_%'");
    expect(after.rows[0].n - before.rows[0].n).toBe(1);
  });

  it('a schema tenant is created in one transaction: nothing of it is visible before its commit, and a failed one leaves no role', async () => {
    const tenancy = await h.tenancy();
    const seen: { rows: number; schemas: number }[] = [];
    const watching = await h.tenancy({
      onLifecycleStep: async (step, t) => {
        if (step !== 'registered' && step !== 'container-created') return;
        // Another connection sees neither the row nor the schema while the create is under way.
        const rows = await h.admin.query('select 1 from tenantry.tenants where id = $1', [t.id]);
        const schemas = await h.admin.query('select 1 from pg_namespace where nspname = $1', [t.physicalName]);
        seen.push({ rows: rows.rowCount ?? 0, schemas: schemas.rowCount ?? 0 });
      },
    });
    const t = await watching.tenants.create({ slug: 'one-txn', name: 'One' });
    expect(t.status).toBe('ACTIVE');
    expect(seen).toEqual([
      { rows: 0, schemas: 0 },
      { rows: 0, schemas: 0 },
    ]);
    const failing = await h.tenancy({ migrations: FAILING_MIGRATIONS });
    await expect(failing.tenants.create({ slug: 'one-txn-broken', name: 'B' })).rejects.toMatchObject({ code: 'PROVISIONING_FAILED' });
    const broken = await tenancy.tenants.get('one-txn-broken');
    expect(broken.status).toBe('FAILED');
    const roles = await h.admin.query('select 1 from pg_roles where rolname = $1', [broken.physicalName]);
    expect(roles.rowCount).toBe(0);
    expect((await tenancy.tenants.activity(broken.id)).map((a) => [a.action, a.fromStatus, a.toStatus])).toEqual([
      ['create', null, 'PROVISIONING'],
      ['failed', 'PROVISIONING', 'FAILED'],
    ]);
  });

  it('a failed create retried with its idempotency key answers PROVISIONING_FAILED again, and creates nothing more', async () => {
    const tenancy = await h.tenancy({ migrations: FAILING_MIGRATIONS });
    const input = { slug: 'idem-broken', name: 'Broken' };
    const first = await tenancy.tenants.create(input, { idempotencyKey: 'idem-broken-1' }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'PROVISIONING_FAILED' });
    const again = await tenancy.tenants.create(input, { idempotencyKey: 'idem-broken-1' }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'PROVISIONING_FAILED' });
    expect((again as Error).message).toMatch(/division by zero/);
    const rows = await h.admin.query("select status from tenantry.tenants where slug = 'idem-broken'");
    expect(rows.rows).toEqual([{ status: 'FAILED' }]);
  });

  it('10 concurrent creates with one idempotency key: one tenant, and every caller gets it', async () => {
    const tenancy = await h.tenancy({ pool: { max: 5 } });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => tenancy.tenants.create({ slug: 'idem-race', name: 'Race' }, { idempotencyKey: 'idem-race-1' })),
    );
    const ids = results.map((r) => (r.status === 'fulfilled' ? r.value.id : `rejected: ${String((r.reason as Error).message)}`));
    expect(new Set(ids).size, ids.join('\n')).toBe(1);
    const rows = await h.admin.query("select id::text, status from tenantry.tenants where slug = 'idem-race'");
    expect(rows.rows).toEqual([{ id: ids[0], status: 'ACTIVE' }]);
  });

  it('a create of a slug whose first create is still under way waits for it, then answers TENANT_EXISTS', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atStep = new Promise<void>((r) => (reached = r));
    const first = await h.tenancy({
      onLifecycleStep: async (step, t) => {
        if (step !== 'container-created' || t.slug !== 'wait-slug') return;
        reached();
        await held;
      },
    });
    const second = await h.tenancy();
    const a = first.tenants.create({ slug: 'wait-slug', name: 'A' });
    await atStep;
    let settled = false;
    const b = second.tenants.create({ slug: 'wait-slug', name: 'B' }).finally(() => (settled = true));
    b.catch(() => undefined);
    // The second waits on the registry's unique index (a lock wait) while the first's transaction is open.
    await expect
      .poll(
        async () =>
          (
            await h.admin.query<{ n: number }>(
              "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into tenantry.tenants%'",
            )
          ).rows[0]!.n,
        { timeout: 10_000, interval: 50 },
      )
      .toBe(1);
    expect(settled).toBe(false);
    release();
    expect((await a).status).toBe('ACTIVE');
    await expect(b).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
  });

  it('a broken migrations folder fails createTenancy with MIGRATION_INVALID', async () => {
    await expect(h.tenancy({ migrations: '/nonexistent/folder' })).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
    expect(() =>
      migrationList([
        { name: 'a', up: 'select 1' },
        { name: 'a', up: 'select 2' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID' }));
  });
});

describe('lifecycle', () => {
  it('suspend, resume, rename and delete follow the state machine and log every transition', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'life', name: 'Life' });
    await tenancy.withTenant('life', (db) => db.query('insert into posts (title) values ($1)', ['kept']));

    const suspended = await tenancy.tenants.suspend('life', { actor: 'ops@example.com', reason: 'unpaid' });
    expect(suspended.status).toBe('SUSPENDED');
    await expect(tenancy.withTenant('life', (db) => db.query('select 1'))).rejects.toMatchObject({
      code: 'TENANT_SUSPENDED',
      message: expect.stringContaining("resume('life')"),
    });
    expect((await tenancy.tenants.suspend('life')).status).toBe('SUSPENDED'); // idempotent
    expect((await tenancy.tenants.resume(t.id)).status).toBe('ACTIVE');
    expect((await tenancy.tenants.resume(t.id)).status).toBe('ACTIVE'); // idempotent

    const renamed = await tenancy.tenants.rename('life', 'life-two', { actor: 'ops' });
    expect(renamed).toMatchObject({ id: t.id, slug: 'life-two', physicalName: t.physicalName });
    await expect(tenancy.withTenant('life', (db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    const kept = await tenancy.withTenant('life-two', async (db) => (await db.query('select title from posts')).rows);
    expect(kept).toEqual([{ title: 'kept' }]);
    await tenancy.tenants.create({ slug: 'taken', name: 'Taken' });
    await expect(tenancy.tenants.rename('life-two', 'taken')).rejects.toMatchObject({ code: 'TENANT_EXISTS' });

    const deleted = await tenancy.tenants.delete('life-two', { actor: 'ops' });
    expect(deleted.status).toBe('DELETED');
    expect((await h.admin.query('select 1 from pg_namespace where nspname = $1', [t.physicalName])).rowCount).toBe(0);
    expect((await tenancy.tenants.delete(t.id)).status).toBe('DELETED'); // idempotent
    await expect(tenancy.tenants.get('life-two')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect((await tenancy.tenants.get(t.id)).status).toBe('DELETED');
    await expect(tenancy.withTenant(t.id, (db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(tenancy.tenants.resume(t.id)).rejects.toMatchObject({ code: 'INVALID_STATE_TRANSITION' });

    const log = await tenancy.tenants.activity(t.id);
    expect(log.map((a) => a.action)).toEqual(['create', 'provisioned', 'suspend', 'resume', 'rename', 'delete', 'deleted']);
    expect(log[2]).toMatchObject({ actor: 'ops@example.com', detail: { reason: 'unpaid' }, fromStatus: 'ACTIVE', toStatus: 'SUSPENDED' });
    expect(log[4]!.detail).toEqual({ from: 'life', to: 'life-two' });
    // The slug of a deleted tenant is free again.
    expect((await tenancy.tenants.create({ slug: 'life-two', name: 'Reborn' })).status).toBe('ACTIVE');
  });

  it('a delete interrupted after DELETING is finished by deleting again', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'half', name: 'Half' });
    await h.admin.query("update tenantry.tenants set status = 'DELETING' where id = $1", [t.id]);
    await expect(tenancy.withTenant(t.id, (db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect((await tenancy.tenants.delete(t.id)).status).toBe('DELETED');
    expect((await h.admin.query('select 1 from pg_namespace where nspname = $1', [t.physicalName])).rowCount).toBe(0);
  });

  it('a PROVISIONING tenant is not routable yet (TENANT_NOT_READY with a retry hint)', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'later', name: 'Later' });
    // Another process's change, announced as Tenantry announces its own.
    await h.admin.query("update tenantry.tenants set status = 'PROVISIONING' where id = $1", [t.id]);
    await h.admin.query('select tenantry.notify_change($1)', [t.id]);
    await expect
      .poll(() => tenancy.withTenant(t.id, (db) => db.query('select 1')).catch((e: TenantryError) => e.code))
      .toBe('TENANT_NOT_READY');
    const err = await tenancy.withTenant(t.id, (db) => db.query('select 1')).catch((e: TenantryError) => e);
    expect((err as TenantryError).context.retryAfterSeconds).toBe(5);
  });

  it('lists tenants page by page, filtered by status', async () => {
    const tenancy = await h.tenancy({ migrations: migrationList([]) });
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await tenancy.tenants.create({ slug: `page-${i}`, name: `P${i}` }));
    await tenancy.tenants.suspend('page-3');
    const seen: string[] = [];
    let page = await tenancy.tenants.list({ limit: 3 });
    for (;;) {
      seen.push(...page.items.map((t) => t.slug));
      if (!page.nextCursor) break;
      page = await tenancy.tenants.list({ limit: 3, cursor: page.nextCursor });
    }
    expect(seen.filter((s) => s.startsWith('page-'))).toEqual(made.map((t) => t.slug));
    const suspended = await tenancy.tenants.list({ status: 'SUSPENDED' });
    expect(suspended.items.map((t) => t.slug)).toEqual(['page-3']);
    await expect(tenancy.tenants.list({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(tenancy.tenants.list({ cursor: '1; drop table x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(tenancy.tenants.list({ status: 'NOPE' as 'ACTIVE' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('custom domains resolve to their tenant and stop resolving when removed', async () => {
    const tenancy = await h.tenancy({ migrations: migrationList([]) });
    const t = await tenancy.tenants.create({ slug: 'dom', name: 'Dom' });
    await tenancy.tenants.create({ slug: 'dom-other', name: 'Other' });
    expect(await tenancy.tenants.addDomain('dom', 'App.Dom.Example.')).toBe('app.dom.example');
    await expect(tenancy.tenants.addDomain('dom-other', 'app.dom.example')).rejects.toMatchObject({ code: 'DOMAIN_EXISTS' });
    expect((await tenancy.resolveDomain('APP.dom.example')).id).toBe(t.id);
    expect(await tenancy.tenants.domains('dom')).toEqual(['app.dom.example']);
    await expect(tenancy.resolveDomain('nobody.example')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(tenancy.resolveDomain("x'.example")).rejects.toMatchObject({ code: 'INVALID_DOMAIN' });
    await tenancy.tenants.suspend('dom');
    await expect(tenancy.resolveDomain('app.dom.example')).rejects.toMatchObject({ code: 'TENANT_SUSPENDED' });
    await tenancy.tenants.resume('dom');
    expect(await tenancy.tenants.removeDomain('dom', 'app.dom.example')).toBe(true);
    await expect(tenancy.resolveDomain('app.dom.example')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });
});
