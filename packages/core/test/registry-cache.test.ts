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

describe('refresh ahead', () => {
  it('an entry used after refreshAfterMs is served and re-read once in the background; a stored re-read starts the clock again', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new TenantCache({ ttlMs: 1_000, refreshAfterMs: 400 });
    const reads: [string, number][] = [];
    cache.setRefresher((id) => reads.push([id, cache.epoch]));
    cache.set(A, cache.epoch);
    now += 399;
    expect(cache.get(parseTenantRef(A.id))).toBe(A);
    expect(reads).toEqual([]);
    now += 1;
    expect(cache.get(parseTenantRef(A.id))).toBe(A);
    expect(cache.get(parseTenantRef('cache-a'))).toBe(A);
    expect(reads).toEqual([[A.id, cache.epoch]]);
    // The re-read comes back: stored, fresh for another TTL.
    const fresher = { ...A, name: 'renamed' } as Tenant;
    cache.set(fresher, reads[0]![1]);
    now += 399;
    expect(cache.get(parseTenantRef(A.id))).toBe(fresher);
    expect(reads).toHaveLength(1);
    now += 1;
    expect(cache.get(parseTenantRef(A.id))).toBe(fresher);
    expect(reads).toHaveLength(2);
  });

  it('never serves an entry past its TTL, even while its re-read is under way', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new TenantCache({ ttlMs: 1_000 });
    const reads: string[] = [];
    cache.setRefresher((id) => reads.push(id));
    cache.set(A, cache.epoch);
    now += 500;
    expect(cache.get(parseTenantRef(A.id))).toBe(A);
    expect(reads).toEqual([A.id]);
    now += 501;
    expect(cache.get(parseTenantRef(A.id))).toBeUndefined();
  });

  it('a re-read that started before a change is not stored; one that finds the tenant gone drops it', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new TenantCache({ ttlMs: 1_000 });
    const reads: [string, number][] = [];
    cache.setRefresher((id) => reads.push([id, cache.epoch]));
    cache.set(A, cache.epoch);
    cache.set(B, cache.epoch);
    now += 600;
    cache.get(parseTenantRef(A.id));
    cache.get(parseTenantRef(B.id));
    const [[, epochOfA], [, epochOfB]] = reads as [[string, number], [string, number]];
    cache.invalidate(A.id);
    cache.set({ ...A, status: 'SUSPENDED' } as Tenant, epochOfA);
    expect(cache.get(parseTenantRef(A.id))).toBeUndefined();
    // B's re-read started before the invalidation too: forgetting is refused (B is still cached).
    cache.forget(B.id, epochOfB);
    expect(cache.get(parseTenantRef(B.id))).toBe(B);
    cache.forget(B.id, cache.epoch);
    expect(cache.get(parseTenantRef(B.id))).toBeUndefined();
  });

  it('refreshAfterMs ≥ ttlMs turns it off', () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new TenantCache({ ttlMs: 1_000, refreshAfterMs: 1_000 });
    const reads: string[] = [];
    cache.setRefresher((id) => reads.push(id));
    cache.set(A, cache.epoch);
    now += 999;
    cache.get(parseTenantRef(A.id));
    expect(reads).toEqual([]);
  });
});

describe('cache options', () => {
  it('are checked: a negative, non-finite or non-number value is INVALID_ARGUMENT naming it', () => {
    expect(() => new TenantCache({ refreshAfterMs: -1 })).toThrow(/cache.refreshAfterMs must be a number of milliseconds ≥ 0, got -1/);
    expect(() => new TenantCache({ ttlMs: Number.NaN })).toThrow(/cache.ttlMs/);
    expect(() => new TenantCache({ max: 1.5 })).toThrow(/cache.max must be an integer ≥ 0/);
    expect(() => new TenantCache({ invalidationIntervalMs: '5' as unknown as number })).toThrow(/cache.invalidationIntervalMs/);
    expect(() => new TenantCache({ max: 0, ttlMs: 0, refreshAfterMs: 0 })).not.toThrow();
  });
});

describe('cache options at createTenancy()', () => {
  it('fail before anything is opened', async () => {
    const { createTenancy } = await import('../src/index.js');
    // An unreachable registry: the options are refused before any connection is tried.
    await expect(createTenancy({ registryUrl: 'postgres://nobody@127.0.0.1:1/none', cache: { refreshAfterMs: -1 } })).rejects.toMatchObject(
      {
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/cache.refreshAfterMs/),
      },
    );
  });
});
