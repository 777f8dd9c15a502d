import pg from 'pg';
import type { Logger } from '../logger.js';
import type { TenantCache } from './registry-cache.js';
import { InvalidationThrottle, SeenNotifications, verifyNotification, type NotificationKeys } from './registry-notification.js';
import { TENANT_CHANNEL } from './tenant-registry.js';

/** Figures of the listener: what it heard and what it did with it. */
export interface ListenerStats {
  /** Notifications on the channel. */
  readonly received: number;
  /** Dropped: not signed with the registry's key, out of the time window, or malformed. */
  readonly rejected: number;
  /** Dropped: a replay of one already acted on. */
  readonly replayed: number;
  /** Invalidations applied (after throttling): of one tenant, and of everything. */
  readonly invalidated: number;
  readonly cleared: number;
}

/**
 * Keeps one connection to the registry LISTENing for tenant changes made by other processes,
 * and invalidates the cache accordingly. While it is disconnected the cache is bypassed
 * (cleared on every loss), so no process routes on a stale status for longer than a reconnect.
 *
 * Anyone may NOTIFY on the channel (tenant SQL too), so only payloads signed by
 * `tenantry.notify_change()` count, each once, and invalidations are throttled per tenant and
 * for `*` (see registry-notification.ts): a flood cannot make units of work go back to the registry.
 */
export class RegistryListener {
  readonly #url: string;
  readonly #cache: TenantCache;
  readonly #logger: Logger;
  readonly #applicationName: string;
  #client: pg.Client | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #connected = false;
  #keys: NotificationKeys | undefined;
  /** Registry server clock minus ours, in ms, measured at connect. */
  #clockOffset = 0;
  readonly #seen = new SeenNotifications();
  readonly #throttle: InvalidationThrottle;
  #received = 0;
  #rejected = 0;
  #replayed = 0;
  #invalidated = 0;
  #cleared = 0;

  constructor(url: string, cache: TenantCache, logger: Logger, applicationName: string) {
    this.#url = url;
    this.#cache = cache;
    this.#logger = logger;
    this.#applicationName = applicationName;
    this.#throttle = new InvalidationThrottle(cache.invalidationIntervalMs, (target) => {
      if (target === '*') {
        this.#cleared++;
        this.#cache.clear();
      } else {
        this.#invalidated++;
        this.#cache.invalidate(target);
      }
    });
  }

  /** What the listener heard, rejected and applied since it was made. */
  stats(): ListenerStats {
    return {
      received: this.#received,
      rejected: this.#rejected,
      replayed: this.#replayed,
      invalidated: this.#invalidated,
      cleared: this.#cleared,
    };
  }

  /** True while notifications are being received; the cache is only trusted then. */
  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: `${this.#applicationName}:listener` });
    client.on('notification', (msg) => {
      if (msg.channel === TENANT_CHANNEL && this.#client === client) this.#heard(msg.payload ?? '');
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, undefined));
    await client.connect();
    const { rows } = await client.query<{ inner_key: Buffer; outer_key: Buffer; now: number }>(
      'select inner_key, outer_key, extract(epoch from clock_timestamp())::float8 * 1000 as now from tenantry.notify_key',
    );
    const row = rows[0];
    if (row === undefined) throw new Error('tenantry.notify_key is empty: the registry migration 5 did not run');
    this.#keys = { inner: row.inner_key, outer: row.outer_key };
    this.#clockOffset = row.now - Date.now();
    await client.query(`listen ${TENANT_CHANNEL}`);
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#client = client;
    this.#connected = true;
    // Changes made while we were away were missed.
    this.#cache.clear();
  }

  #heard(payload: string): void {
    this.#received++;
    const keys = this.#keys;
    const now = Date.now() + this.#clockOffset;
    const n = keys === undefined ? undefined : verifyNotification(payload, keys, now);
    if (n === undefined) {
      this.#rejected++;
      return;
    }
    if (!this.#seen.first(n, now)) {
      this.#replayed++;
      return;
    }
    this.#throttle.request(n.target);
  }

  #lost(client: pg.Client, err: Error | undefined): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#connected = false;
    this.#throttle.reset();
    this.#cache.clear();
    if (this.#closed) return;
    this.#logger.warn({ err }, 'tenantry registry listener lost its connection; reconnecting');
    client.end().catch(() => undefined);
    this.#schedule(250);
  }

  #schedule(delay: number): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.start().catch((err: unknown) => {
        this.#logger.warn({ err }, 'tenantry registry listener could not reconnect; retrying');
        this.#schedule(Math.min(delay * 2, 10_000));
      });
    }, delay);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#throttle.close();
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    await client?.end().catch(() => undefined);
  }
}
