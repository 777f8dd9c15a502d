import { createHash, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../identifiers.js';

/**
 * Registry change notifications, authenticated and bounded.
 *
 * `NOTIFY` needs no privilege: any SQL on the registry's database — a tenant's too — may call
 * `pg_notify('tenantry_tenants', …)`. So the payload Tenantry sends is signed, by the SQL function
 * `tenantry.notify_change(target)` (registry migration 5) with two random keys kept in
 * `tenantry.notify_key`, a table tenant roles cannot read:
 *
 * ```text
 * v1.<target>.<unix ms, server clock>.<nonce>.<hex sha256(outer ‖ sha256(inner ‖ "v1.<target>.<ms>.<nonce>"))>
 * ```
 *
 * `target` is a tenant id or `*` (everything). The listener drops a payload whose tag does not
 * verify, that is older or newer than {@link NOTIFICATION_WINDOW_MS} by the registry server's
 * clock, or that it has already seen (a replay of one it heard: tenants can LISTEN too). What is
 * left is throttled by {@link InvalidationThrottle}, so even a flood of genuine notifications
 * clears a target at most twice per interval.
 */

/** How far a notification's timestamp may be from the registry server's clock. */
export const NOTIFICATION_WINDOW_MS = 60_000;

/** The two keys of the nested hash, read from `tenantry.notify_key`. */
export interface NotificationKeys {
  readonly inner: Buffer;
  readonly outer: Buffer;
}

/** A notification that verified: what to invalidate, and its tag (which identifies it, for replays). */
export interface VerifiedNotification {
  /** A tenant id, or `*`. */
  readonly target: string;
  readonly tag: string;
  readonly sentAt: number;
}

const PAYLOAD = /^v1\.([0-9a-f-]{36}|\*)\.(\d{1,16})\.([0-9a-f]{32})\.([0-9a-f]{64})$/;

/** The tag of `message` ("v1.<target>.<ms>.<nonce>"), as `tenantry.notify_change()` computes it. */
export function notificationTag(keys: NotificationKeys, message: string): Buffer {
  const inner = createHash('sha256').update(keys.inner).update(message, 'utf8').digest();
  return createHash('sha256').update(keys.outer).update(inner).digest();
}

/**
 * Checks a payload's form, tag and age. Returns undefined for anything not sent by
 * `tenantry.notify_change()` within the window (`now` is the registry server's clock, in ms).
 */
export function verifyNotification(payload: string, keys: NotificationKeys, now: number): VerifiedNotification | undefined {
  if (payload.length > 200) return undefined;
  const m = PAYLOAD.exec(payload);
  if (m === null) return undefined;
  const target = m[1]!;
  if (target !== '*' && !isUuid(target)) return undefined;
  const sentAt = Number(m[2]);
  if (Math.abs(now - sentAt) > NOTIFICATION_WINDOW_MS) return undefined;
  const tag = m[4]!;
  const expected = notificationTag(keys, `v1.${target}.${m[2]!}.${m[3]!}`);
  if (!timingSafeEqual(expected, Buffer.from(tag, 'hex'))) return undefined;
  return { target, tag, sentAt };
}

/**
 * Remembers the tags of notifications already acted on, for as long as they verify (the window),
 * so a replayed one is ignored. Bounded: past `max` entries the oldest are forgotten (the throttle
 * still bounds what a replay of those can do).
 */
export class SeenNotifications {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  /** True the first time a tag is offered (then remembered), false for a replay. */
  first(n: VerifiedNotification, now: number): boolean {
    if (this.#seen.has(n.tag)) return false;
    this.#seen.set(n.tag, n.sentAt + NOTIFICATION_WINDOW_MS);
    // Insertion order is close to expiry order: drop expired ones from the front.
    for (const [tag, expires] of this.#seen) {
      if (expires >= now && this.#seen.size <= this.#max) break;
      this.#seen.delete(tag);
    }
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}

/**
 * At most one invalidation per target per interval: the first is applied at once; later ones
 * within the interval are folded into one, applied when the interval ends (so a genuine change
 * is never lost, only delayed by at most one interval while a flood goes on).
 */
export class InvalidationThrottle {
  readonly #intervalMs: number;
  readonly #apply: (target: string) => void;
  readonly #last = new Map<string, number>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(intervalMs: number, apply: (target: string) => void) {
    this.#intervalMs = intervalMs;
    this.#apply = apply;
  }

  /** Asks for `target` (a tenant id or `*`) to be invalidated. */
  request(target: string): void {
    if (this.#closed || this.#pending.has(target)) return;
    const now = Date.now();
    const last = this.#last.get(target);
    if (last === undefined || now - last >= this.#intervalMs) {
      this.#fire(target, now);
      return;
    }
    const timer = setTimeout(
      () => {
        this.#pending.delete(target);
        if (!this.#closed) this.#fire(target, Date.now());
      },
      last + this.#intervalMs - now,
    );
    timer.unref();
    this.#pending.set(target, timer);
  }

  /** Drops what is pending (the caller clears everything anyway, e.g. on a lost connection). */
  reset(): void {
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
  }

  close(): void {
    this.#closed = true;
    this.reset();
  }

  #fire(target: string, now: number): void {
    this.#last.set(target, now);
    if (this.#last.size > 10_000) {
      for (const [t, at] of this.#last) if (now - at >= this.#intervalMs) this.#last.delete(t);
    }
    this.#apply(target);
  }
}
