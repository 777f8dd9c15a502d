import type { TenantRef } from '../identifiers.js';
import { invalidArgument } from '../errors.js';
import type { Tenant } from '../types.js';

/** Settings of the in-process registry cache. */
export interface CacheOptions {
  /** Most tenants kept. Default 10 000. */
  readonly max?: number;
  /** An entry is re-read after this long even without a notification. Default 60 000 ms. */
  readonly ttlMs?: number;
  /**
   * An entry older than this that is used is re-read in the background while it is still served
   * (refresh ahead), so a tenant in use never waits for a registry read when its entry ages out.
   * Default half of `ttlMs`; `ttlMs` or more turns it off. No entry is served after `ttlMs`
   * whatever this is.
   */
  readonly refreshAfterMs?: number;
  /**
   * Another process's changes (NOTIFY) invalidate a tenant — or, for `*`, everything — at most
   * once per this many ms; more in the interval are folded into one at its end. Bounds what a
   * flood of notifications can cost. Default 250 ms.
   */
  readonly invalidationIntervalMs?: number;
}

interface Entry {
  readonly tenant: Tenant;
  readonly expires: number;
  /** From then on a hit starts a background re-read (once: `refreshing`). */
  readonly refreshAt: number;
  refreshing: boolean;
  /** When it was last moved to the recent end of the LRU order. */
  touched: number;
}

/** A hit moves its entry to the recent end at most this often (a Map delete + set per hit costs). */
const TOUCH_EVERY_MS = 1_000;

/**
 * Bounded, least-recently-used cache of registry rows, keyed by id, with a slug index.
 * Invalidated by this process's own changes and by NOTIFY from others. A read that started
 * before an invalidation is not cached (epoch check), so a stale row never wins a race.
 */
export class TenantCache {
  readonly #byId = new Map<string, Entry>();
  readonly #slugs = new Map<string, string>();
  /** Custom domain → tenant id, valid only for the epoch it was read in. */
  readonly #domains = new Map<string, { id: string | null; epoch: number; expires: number }>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #refreshAfter: number;
  readonly #invalidationInterval: number;
  #epoch = 0;
  #refresher: ((id: string) => void) | undefined;

  constructor(options: CacheOptions = {}) {
    for (const key of ['max', 'ttlMs', 'refreshAfterMs', 'invalidationIntervalMs'] as const) {
      const value = options[key];
      if (
        value !== undefined &&
        (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (key === 'max' && !Number.isInteger(value)))
      ) {
        throw invalidArgument(
          `cache.${key} must be ${key === 'max' ? 'an integer' : 'a number of milliseconds'} ≥ 0, got ${String(value)}`,
        );
      }
    }
    this.#max = options.max ?? 10_000;
    this.#ttl = options.ttlMs ?? 60_000;
    this.#refreshAfter = options.refreshAfterMs ?? this.#ttl / 2;
    this.#invalidationInterval = options.invalidationIntervalMs ?? 250;
  }

  /** See {@link CacheOptions.invalidationIntervalMs}. */
  get invalidationIntervalMs(): number {
    return this.#invalidationInterval;
  }

  /**
   * Who re-reads an entry in the background once it is older than `refreshAfterMs` and used:
   * called at most once per entry; it must not throw, and stores what it reads with the epoch
   * taken when its read started ({@link TenantCache.set}). Without one, entries are re-read only
   * when they expire.
   */
  setRefresher(refresher: (id: string) => void): void {
    this.#refresher = refresher;
  }

  /** Changes whenever anything is invalidated. */
  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(ref: TenantRef): Tenant | undefined {
    const id = ref.kind === 'id' ? ref.value : this.#slugs.get(ref.value);
    if (id === undefined) return undefined;
    const entry = this.#byId.get(id);
    if (entry === undefined) return undefined;
    const now = Date.now();
    if (entry.expires < now) {
      // Age is not a change: the epoch stays, so registry reads already under way (other
      // tenants', under load) are still cached. Bumping it here made every expiry discard them
      // all, and after an idle minute each request re-read the registry (a stampede).
      this.#remove(id);
      return undefined;
    }
    if (ref.kind === 'slug' && (entry.tenant.slug !== ref.value || entry.tenant.status === 'DELETED')) {
      this.invalidate(id);
      return undefined;
    }
    if (now >= entry.refreshAt && !entry.refreshing && this.#refresher !== undefined) {
      // Served now, re-read meanwhile: the next use finds a fresh entry instead of a miss.
      entry.refreshing = true;
      this.#refresher(id);
    }
    if (now - entry.touched >= TOUCH_EVERY_MS) {
      // Refresh recency.
      entry.touched = now;
      this.#byId.delete(id);
      this.#byId.set(id, entry);
    }
    return entry.tenant;
  }

  /** Stores a row read at `epoch`; ignored when something was invalidated since. */
  set(tenant: Tenant, epoch: number): void {
    if (epoch !== this.#epoch || this.#max === 0) return;
    this.#remove(tenant.id);
    const now = Date.now();
    this.#byId.set(tenant.id, { tenant, expires: now + this.#ttl, refreshAt: now + this.#refreshAfter, refreshing: false, touched: now });
    // A slug names a live tenant only (the registry finds DELETED ones by id alone): a deleted
    // row kept under its slug would answer for the next tenant that takes the slug.
    if (tenant.status !== 'DELETED') this.#slugs.set(tenant.slug, tenant.id);
    while (this.#byId.size > this.#max) {
      const oldest = this.#byId.keys().next().value as string;
      this.#remove(oldest);
    }
  }

  /** The tenant id of a custom domain: a string, `null` when known not to exist, `undefined` when unknown. */
  getDomain(domain: string): string | null | undefined {
    const e = this.#domains.get(domain);
    if (e === undefined) return undefined;
    if (e.epoch !== this.#epoch || e.expires < Date.now()) {
      this.#domains.delete(domain);
      return undefined;
    }
    return e.id;
  }

  /** Stores a domain lookup read at `epoch` (a miss too, as `null`, so unknown hosts cost one query per epoch). */
  setDomain(domain: string, id: string | null, epoch: number): void {
    if (epoch !== this.#epoch || this.#max === 0) return;
    if (this.#domains.size >= this.#max) this.#domains.clear();
    this.#domains.set(domain, { id, epoch, expires: Date.now() + this.#ttl });
  }

  /** Drops an entry a background re-read found gone, unless something changed since `epoch` (then it is gone already or fresher). */
  forget(id: string, epoch: number): void {
    if (epoch === this.#epoch) this.#remove(id);
  }

  invalidate(id: string): void {
    this.#epoch++;
    this.#remove(id);
  }

  clear(): void {
    this.#epoch++;
    this.#byId.clear();
    this.#slugs.clear();
    this.#domains.clear();
  }

  #remove(id: string): void {
    const entry = this.#byId.get(id);
    if (entry === undefined) return;
    this.#byId.delete(id);
    if (this.#slugs.get(entry.tenant.slug) === id) this.#slugs.delete(entry.tenant.slug);
  }
}
