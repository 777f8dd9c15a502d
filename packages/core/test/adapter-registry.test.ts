import { describe, expect, it } from 'vitest';
import { setupHarness } from './helpers.js';
import { adapterRegistry } from '../src/for-adapters.js';

/**
 * The registry behind every adapter package's context-free accessor (`tenantKnex()`…): it must
 * find the adapter of the tenancy that entered the context, fall back to the only adapter when
 * there is one, and refuse to guess among several.
 */
const h = await setupHarness();

const NAMES = { orm: 'Knex', setup: 'knexTenancy(tenancy)', instead: 'adapter.knex' };

describe('adapterRegistry', () => {
  it('with no adapter registered, says which call makes one', () => {
    const adapters = adapterRegistry<{ name: string }>(NAMES);
    expect(() => adapters.forContext()).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'no Knex adapter: call knexTenancy(tenancy) at start' }),
    );
  });

  it('with one adapter, finds it inside and outside a tenant context', async () => {
    const tenancy = await h.tenancy();
    await tenancy.tenants.create({ slug: 'reg-one', name: 'One' });
    const adapters = adapterRegistry<{ name: string }>(NAMES);
    const only = { name: 'only' };
    adapters.register(tenancy, only);
    expect(adapters.forContext()).toBe(only);
    expect(await tenancy.run('reg-one', async () => adapters.forContext())).toBe(only);
    expect(await tenancy.withTenant('reg-one', async () => adapters.forContext())).toBe(only);
  });

  it("with several, finds the one of the context's tenancy and refuses to guess outside a context", async () => {
    const first = await h.tenancy();
    const second = await h.tenancy();
    await first.tenants.create({ slug: 'reg-many', name: 'Many' });
    const adapters = adapterRegistry<{ name: string }>(NAMES);
    const a = { name: 'first' };
    const b = { name: 'second' };
    adapters.register(first, a);
    adapters.register(second, b);
    expect(await first.run('reg-many', async () => adapters.forContext())).toBe(a);
    expect(await second.run('reg-many', async () => adapters.forContext())).toBe(b);
    expect(await first.withTenant('reg-many', async () => adapters.forContext())).toBe(a);
    expect(() => adapters.forContext()).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: 'several tenancies have Knex adapters and none of them is the tenancy of the current context: use adapter.knex',
      }),
    );
  });

  it('registries are independent: one ORM never answers with the adapter of another', async () => {
    const tenancy = await h.tenancy();
    const knex = adapterRegistry<{ name: string }>(NAMES);
    const drizzle = adapterRegistry<{ name: string }>({ orm: 'Drizzle', setup: 'drizzleTenancy(tenancy)', instead: 'adapter.db' });
    knex.register(tenancy, { name: 'knex' });
    expect(() => drizzle.forContext()).toThrow(
      expect.objectContaining({ message: 'no Drizzle adapter: call drizzleTenancy(tenancy) at start' }),
    );
  });
});
