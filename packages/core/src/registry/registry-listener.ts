import pg from 'pg';
import type { Logger } from '../logger.js';
import type { TenantCache } from './registry-cache.js';
import { TENANT_CHANNEL } from './tenant-registry.js';

/**
 * Keeps one connection to the registry LISTENing for tenant changes made by other processes,
 * and invalidates the cache accordingly. While it is disconnected the cache is bypassed
 * (cleared on every loss), so no process routes on a stale status for longer than a reconnect.
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

  constructor(url: string, cache: TenantCache, logger: Logger, applicationName: string) {
    this.#url = url;
    this.#cache = cache;
    this.#logger = logger;
    this.#applicationName = applicationName;
  }

  /** True while notifications are being received; the cache is only trusted then. */
  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: `${this.#applicationName}:listener` });
    client.on('notification', (msg) => {
      if (msg.channel !== TENANT_CHANNEL) return;
      if (msg.payload && msg.payload !== '*') this.#cache.invalidate(msg.payload);
      else this.#cache.clear();
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, undefined));
    await client.connect();
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

  #lost(client: pg.Client, err: Error | undefined): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#connected = false;
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
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    await client?.end().catch(() => undefined);
  }
}
