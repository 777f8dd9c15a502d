import type { UnitOfWorkEvent } from '@tenantry/core';

/** Units of work of one tenant since the process started (or since it was last tracked). */
export interface TenantUsageEntry {
  readonly tenant: { readonly id: string; readonly slug: string; readonly server: string };
  readonly unitsOfWork: number;
  readonly errors: number;
  /** Sum of the units' durations (checkout to release), in milliseconds. */
  readonly totalMs: number;
  readonly maxMs: number;
  readonly lastAt: Date;
}

/** What {@link TenantUsage.top} ranks by. */
export type TenantUsageOrder = 'unitsOfWork' | 'totalMs' | 'errors';

interface Tally {
  id: string;
  slug: string;
  server: string;
  unitsOfWork: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  lastAt: number;
}

/**
 * Per-tenant figures kept in memory, for an admin API — never as metric labels, whose
 * cardinality would grow with the tenants. At most `maxTenants` are tracked: the least
 * recently active is forgotten first, so the figures cover the tenants active lately.
 */
export class TenantUsage {
  readonly #max: number;
  /** Insertion order is recency order: a tenant is moved to the end when it works. */
  readonly #tallies = new Map<string, Tally>();

  constructor(maxTenants: number) {
    this.#max = maxTenants;
  }

  /** Tenants tracked now. */
  get size(): number {
    return this.#tallies.size;
  }

  record(event: UnitOfWorkEvent): void {
    if (this.#max === 0) return;
    const { tenant } = event;
    let t = this.#tallies.get(tenant.id);
    if (t === undefined) {
      if (this.#tallies.size >= this.#max) this.#tallies.delete(this.#tallies.keys().next().value as string);
      t = { id: tenant.id, slug: tenant.slug, server: tenant.server, unitsOfWork: 0, errors: 0, totalMs: 0, maxMs: 0, lastAt: 0 };
    } else {
      this.#tallies.delete(tenant.id);
    }
    this.#tallies.set(tenant.id, t);
    t.slug = tenant.slug;
    t.unitsOfWork++;
    if (event.outcome === 'error') t.errors++;
    t.totalMs += event.durationMs;
    if (event.durationMs > t.maxMs) t.maxMs = event.durationMs;
    t.lastAt = Date.now();
  }

  /** The `limit` tenants with the most units of work (or time, or errors), highest first. */
  top(limit: number, by: TenantUsageOrder = 'unitsOfWork'): TenantUsageEntry[] {
    if (limit <= 0) return [];
    return [...this.#tallies.values()]
      .sort((a, b) => b[by] - a[by] || b.lastAt - a.lastAt)
      .slice(0, limit)
      .map((t) => ({
        tenant: { id: t.id, slug: t.slug, server: t.server },
        unitsOfWork: t.unitsOfWork,
        errors: t.errors,
        totalMs: Math.round(t.totalMs * 10) / 10,
        maxMs: Math.round(t.maxMs * 10) / 10,
        lastAt: new Date(t.lastAt),
      }));
  }
}
