import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseTenantRef } from '../src/identifiers.js';
import { TenantCache } from '../src/registry/registry-cache.js';
import type { Tenant } from '../src/types.js';

function tenant(id: string, slug: string): Tenant {
  const now = new Date();
  return {
    id,
    slug,
    name: slug,
    status: 'ACTIVE',
    isolation: 'schema',
    server: 'default',
    physicalName: `t_${id.replaceAll('-', '')}`,
    role: null,
    strict: false,
    schemaVersion: null,
    lastMigrationAt: null,
    errorMessage: null,
    plan: null,
    metadata: {},
    createdAt: now,
    updatedAt: now,
  } as Tenant;
}

const A = tenant('00000000-0000-4000-8000-00000000000a', 'cache-a');
const B = tenant('00000000-0000-4000-8000-00000000000b', 'cache-b');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the registry cache under load', () => {
  it("an entry that expires does not keep another tenant's registry read, started before, out of the cache", () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new TenantCache({ ttlMs: 1_000 });
    cache.set(A, cache.epoch);
    now += 1_001;
    // B's registry read starts, then a request for A finds A's entry expired.
    const readOfB = cache.epoch;
    expect(cache.get(parseTenantRef(A.id))).toBeUndefined();
    cache.set(B, readOfB);
    expect(cache.get(parseTenantRef(B.id))).toBe(B);
    expect(cache.get(parseTenantRef('cache-b'))).toBe(B);
  });

  it('an invalidation (a change) still keeps a read that started before it out of the cache', () => {
    const cache = new TenantCache({ ttlMs: 60_000 });
    const readOfB = cache.epoch;
    cache.invalidate(A.id);
    cache.set(B, readOfB);
    expect(cache.get(parseTenantRef(B.id))).toBeUndefined();
  });

  it('an expired entry is not returned, by id or by slug', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new TenantCache({ ttlMs: 1_000 });
    cache.set(A, cache.epoch);
    expect(cache.get(parseTenantRef('cache-a'))).toBe(A);
    now += 1_001;
    expect(cache.get(parseTenantRef('cache-a'))).toBeUndefined();
    expect(cache.get(parseTenantRef(A.id))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
