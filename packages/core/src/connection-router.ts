import pg from 'pg';
import { ErrorCodes, TenantryError } from './errors.js';
import { serverUnavailable } from './pg-errors.js';
import type { Logger } from './logger.js';

/** Pool settings, per server. */
export interface PoolOptions {
  /** Most server connections Tenantry opens to one server. Default 10. */
  readonly max?: number;
  /** How long a caller waits for a free connection before `CONNECTION_BUDGET_EXHAUSTED`. Default 10 000 ms. */
  readonly acquireTimeoutMillis?: number;
  /** Idle connections are closed after this long. Default 30 000 ms. */
  readonly idleTimeoutMillis?: number;
  /**
   * A connection is closed after this many checkouts (backends grow a catalog cache for every
   * tenant they touch). Default 10 000.
   */
  readonly maxUses?: number;
  /** A connection is closed after this many seconds. Default 1 800. */
  readonly maxLifetimeSeconds?: number;
}

/** One server the router reaches. */
export interface ServerTarget {
  readonly id: string;
  readonly url: string;
}

/** Per-server pool figures. */
export interface ServerStats {
  readonly server: string;
  /** Connections open (in use + idle). */
  readonly total: number;
  readonly idle: number;
  readonly inUse: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  readonly max: number;
  /** Checkouts since start. */
  readonly checkouts: number;
  /** Connections destroyed because they failed or could not be cleaned. */
  readonly destroyed: number;
}

interface Entry {
  readonly pool: pg.Pool;
  readonly max: number;
  checkouts: number;
  destroyed: number;
}

/**
 * Owns every pool. Now: one pool per server, shared by all schema tenants on it, so the number
 * of server connections is bounded by `max` whatever the number of tenants.
 */
export class ConnectionRouter {
  readonly #entries = new Map<string, Entry>();
  readonly #options: Required<PoolOptions>;
  readonly #applicationName: string;
  readonly #logger: Logger;
  #closed = false;

  constructor(servers: readonly ServerTarget[], options: PoolOptions, applicationName: string, logger: Logger) {
    this.#options = Object.freeze({
      max: options.max ?? 10,
      acquireTimeoutMillis: options.acquireTimeoutMillis ?? 10_000,
      idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
      maxUses: options.maxUses ?? 10_000,
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 1_800,
    });
    for (const [key, value] of Object.entries(this.#options)) {
      if (!Number.isInteger(value) || value < (key === 'max' ? 1 : 0)) {
        throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, `pool.${key} must be a ${key === 'max' ? 'positive' : 'non-negative'} integer, got ${String(value)}`);
      }
    }
    this.#applicationName = applicationName;
    this.#logger = logger;
    for (const s of servers) this.#add(s);
  }

  #add(server: ServerTarget): void {
    const o = this.#options;
    const pool = new pg.Pool({
      connectionString: server.url,
      max: o.max,
      connectionTimeoutMillis: o.acquireTimeoutMillis,
      idleTimeoutMillis: o.idleTimeoutMillis,
      maxUses: o.maxUses,
      maxLifetimeSeconds: o.maxLifetimeSeconds,
      application_name: this.#applicationName,
    });
    pool.on('error', (err) => this.#logger.warn({ err, server: server.id }, 'idle tenantry connection failed; it was removed from the pool'));
    this.#entries.set(server.id, { pool, max: o.max, checkouts: 0, destroyed: 0 });
  }

  #entry(serverId: string): Entry {
    if (this.#closed) throw new TenantryError(ErrorCodes.TENANCY_CLOSED, 'the tenancy was closed; create a new one with createTenancy()');
    const entry = this.#entries.get(serverId);
    if (!entry) throw new TenantryError(ErrorCodes.SERVER_UNAVAILABLE, `unknown server '${serverId}'`, { context: { server: serverId } });
    return entry;
  }

  /** The pool of a server, for registry and administrative work. */
  pool(serverId: string): pg.Pool {
    return this.#entry(serverId).pool;
  }

  /**
   * Checks out a connection of a server's pool. Waits up to `acquireTimeoutMillis`, then
   * fails with `CONNECTION_BUDGET_EXHAUSTED`; an unreachable server fails with `SERVER_UNAVAILABLE`.
   */
  async connect(serverId: string): Promise<pg.PoolClient> {
    const entry = this.#entry(serverId);
    try {
      const client = await entry.pool.connect();
      entry.checkouts++;
      return client;
    } catch (err) {
      throw this.acquireError(serverId, err);
    }
  }

  /**
   * Turns a failure to get a connection (from `connect()` or `pool.query()`) into
   * `CONNECTION_BUDGET_EXHAUSTED` when every connection stayed busy, else `SERVER_UNAVAILABLE`.
   */
  acquireError(serverId: string, err: unknown): TenantryError {
    if (err instanceof TenantryError) return err;
    const entry = this.#entries.get(serverId);
    if (entry && err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message) && entry.pool.totalCount >= entry.max) {
      return new TenantryError(
        ErrorCodes.CONNECTION_BUDGET_EXHAUSTED,
        `all ${entry.max} connections to server '${serverId}' stayed busy for ${this.#options.acquireTimeoutMillis} ms; raise pool.max or pool.acquireTimeoutMillis, or shorten units of work`,
        { cause: err, context: { server: serverId } },
      );
    }
    return serverUnavailable(serverId, err);
  }

  /** Returns a connection; `destroy` closes it instead of pooling it. */
  release(serverId: string, client: pg.PoolClient, destroy?: Error): void {
    if (destroy) {
      const entry = this.#entries.get(serverId);
      if (entry) entry.destroyed++;
    }
    client.release(destroy ?? false);
  }

  /** Pool figures per server. */
  stats(): ServerStats[] {
    return [...this.#entries].map(([server, e]) => ({
      server,
      total: e.pool.totalCount,
      idle: e.pool.idleCount,
      inUse: e.pool.totalCount - e.pool.idleCount,
      waiting: e.pool.waitingCount,
      max: e.max,
      checkouts: e.checkouts,
      destroyed: e.destroyed,
    }));
  }

  /** Ends every pool; waits for checked-out connections to be returned. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#entries.values()].map((e) => e.pool.end()));
  }
}
