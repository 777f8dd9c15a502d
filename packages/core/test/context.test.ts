import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { currentTenant, migrationList } from '../src/index.js';

const h = await setupHarness();

describe('tenant context', () => {
  it('run() sets the tenant for everything inside, across awaits and timers; withTenant(fn) uses it', async () => {
    const tenancy = await h.tenancy();
    const a = await tenancy.tenants.create({ slug: 'ctx-a', name: 'A' });
    const b = await tenancy.tenants.create({ slug: 'ctx-b', name: 'B' });
    expect(currentTenant()).toBeUndefined();
    await Promise.all([
      tenancy.run('ctx-a', async () => {
        await new Promise((r) => setTimeout(r, 10));
        expect(currentTenant()?.id).toBe(a.id);
        await tenancy.withTenant((db) => db.query('insert into posts (title) values ($1)', ['from a']));
      }),
      tenancy.run(b.id, async () => {
        await new Promise((r) => setImmediate(r));
        expect(currentTenant()?.slug).toBe('ctx-b');
        await tenancy.withTenant((db) => db.query('insert into posts (title) values ($1)', ['from b']));
        // Nested run switches, and switches back.
        await tenancy.run('ctx-a', async () => expect(currentTenant()?.slug).toBe('ctx-a'));
        expect(currentTenant()?.slug).toBe('ctx-b');
      }),
    ]);
    expect(currentTenant()).toBeUndefined();
    const rows = await tenancy.withTenant('ctx-a', async (db) => (await db.query('select title from posts')).rows);
    expect(rows).toEqual([{ title: 'from a' }]);
    // Inside withTenant the context is that tenant.
    await tenancy.withTenant('ctx-b', async () => expect(currentTenant()?.id).toBe(b.id));
  });

  it('withTenant(fn) with no context fails closed with TENANT_REQUIRED', async () => {
    const tenancy = await h.tenancy({ migrations: migrationList([]) });
    await expect(tenancy.withTenant((db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_REQUIRED' });
  });

  it('a context entered before a suspension does not outlive it', async () => {
    const tenancy = await h.tenancy({ migrations: migrationList([]) });
    await tenancy.tenants.create({ slug: 'ctx-s', name: 'S' });
    await tenancy.run('ctx-s', async () => {
      await tenancy.tenants.suspend('ctx-s');
      await expect(tenancy.withTenant((db) => db.query('select 1'))).rejects.toMatchObject({ code: 'TENANT_SUSPENDED' });
    });
  });

  it('run() rejects tenants that are not routable', async () => {
    const tenancy = await h.tenancy({ migrations: migrationList([]) });
    await expect(tenancy.run('nobody-here', () => 1)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });

  it('run() reports every failure as a rejection, calls fn at once for a cached tenant, and awaits thenables inside the context', async () => {
    const tenancy = await h.tenancy({ migrations: migrationList([]) });
    const t = await tenancy.tenants.create({ slug: 'ctx-r', name: 'R' });
    await tenancy.resolve('ctx-r'); // cached now
    // Malformed references and fn's own synchronous throws reject; run() never throws.
    let rejected: unknown;
    const bad = tenancy.run('Not A Slug!', () => 1);
    await bad.catch((err: unknown) => (rejected = err));
    expect(rejected).toMatchObject({ code: 'INVALID_TENANT_ID' });
    const throwing = tenancy.run('ctx-r', () => {
      throw new Error('boom');
    });
    await expect(throwing).rejects.toThrow('boom');
    // A cached ACTIVE tenant: fn runs, in its context, before run() returns.
    let seen: string | undefined;
    const running = tenancy.run('ctx-r', () => {
      seen = currentTenant()?.id;
      return 7;
    });
    expect(seen).toBe(t.id);
    await expect(running).resolves.toBe(7);
    // A thenable (a lazy ORM query) is awaited inside the context.
    const lazy = { then: (resolve: (v: string | undefined) => void) => resolve(currentTenant()?.slug) };
    await expect(tenancy.run('ctx-r', () => lazy)).resolves.toBe('ctx-r');
    expect(currentTenant()).toBeUndefined();
    await tenancy.close();
    await expect(tenancy.run('ctx-r', () => 1)).rejects.toMatchObject({ code: 'TENANCY_CLOSED' });
  });
});

describe('observability hooks', () => {
  it('onUnitOfWork reports each unit of work with its outcome; countByStatus counts tenants', async () => {
    const events: { slug: string; outcome: string; readOnly: boolean }[] = [];
    const tenancy = await h.tenancy({
      migrations: migrationList([]),
      onUnitOfWork: (e) => events.push({ slug: e.tenant.slug, outcome: e.outcome, readOnly: e.readOnly }),
    });
    await tenancy.tenants.create({ slug: 'obs', name: 'Obs' });
    await tenancy.withTenant('obs', (db) => db.query('select 1'));
    await tenancy.withTenant('obs', (db) => db.query('select 1/0')).catch(() => undefined);
    await tenancy.withTenant('obs', (db) => db.query('select 1'), { readOnly: true });
    expect(events).toEqual([
      { slug: 'obs', outcome: 'ok', readOnly: false },
      { slug: 'obs', outcome: 'error', readOnly: false },
      { slug: 'obs', outcome: 'ok', readOnly: true },
    ]);
    await tenancy.tenants.delete((await tenancy.tenants.create({ slug: 'obs-gone', name: 'Gone' })).id);
    // The counts are the registry's, status by status (at least one ACTIVE and one DELETED here).
    const counts = await tenancy.tenants.countByStatus();
    const { rows } = await h.admin.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from tenantry.tenants group by status',
    );
    expect(Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))).toEqual(
      Object.fromEntries(rows.map((r) => [r.status, r.n])),
    );
    expect(counts.ACTIVE).toBeGreaterThanOrEqual(1);
    expect(counts.DELETED).toBeGreaterThanOrEqual(1);
    // ping() is a real round trip, in milliseconds.
    const rtt = await tenancy.ping();
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(10_000);
    const updated = await tenancy.tenants.update('obs', { name: 'Observed', plan: 'pro', metadata: { tier: 2 } });
    expect(updated).toMatchObject({ name: 'Observed', plan: 'pro', metadata: { tier: 2 }, slug: 'obs' });
    await expect(tenancy.tenants.update('obs', { name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
