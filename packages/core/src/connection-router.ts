import type pg from 'pg';
import { ErrorCodes, invalidArgument, tenancyClosed, TenantryError } from './errors.js';
import type { Logger } from './logger.js';
import {
  ServerPool,
  type PoolLogin,
  type PooledClient,
  type ServerPoolSettings,
  type ServerStats,
  type TenantShare,
} from './server-pool.js';

export type { ServerStats, PooledClient, TenantShare, TenantShareStats } from './server-pool.js';

/** Pool settings, applied to every server. */
export interface PoolOptions {
  /** Most connections Tenantry opens to one server, whatever the number of tenants. Default 10. */
  readonly max?: number;
  /** Most connections to one tenant database (database-per-tenant). Default 2. */
  readonly databasePoolMax?: number;
  /** How long a caller waits for a free connection before `CONNECTION_BUDGET_EXHAUSTED`. Default 10 000 ms. */
  readonly acquireTimeoutMillis?: number;
  /** Callers that may wait at once per server; beyond that they fail at once. Default 10 000. */
  readonly maxWaiting?: number;
  /** Idle connections are closed after this long. Default 30 000 ms. */
  readonly idleTimeoutMillis?: number;
  /**
   * A connection is closed after this many checkouts (backends grow a catalog cache for every
   * tenant they touch). Default 100 000; `maxLifetimeSeconds` bounds it in time.
   */
  readonly maxUses?: number;
  /** A connection is closed after this many seconds. Default 1 800. */
  readonly maxLifetimeSeconds?: number;
  /** Opening a connection fails after this long. Default 5 000 ms. */
  readonly connectTimeoutMillis?: number;
  /** After a server refused a connection, its callers fail fast for this long. Default 1 000 ms. */
  readonly retryDelayMillis?: number;
  /**
   * Give each schema tenant a home connection among the server's `max` (a hash of its id):
   * idle checkouts and connections handed to waiters prefer it, so each PostgreSQL backend
   * caches the catalog of fewer tenants (a backend's first statement in a tenant costs several
   * times a warm one). A waiter passed over for another's home is served in turn after `max`
   * such passes. Database tenants are unaffected (their pools are their own). Default true.
   *
   * @example
   * ```ts
   * createTenancy({ registryUrl, pool: { max: 20, homeConnections: false } }); // affinity only
   * ```
   */
  readonly homeConnections?: boolean;
  /**
   * Connections of a server's budget that a tenant over its plan's `maxConnectionShare` may not
   * take, kept free for tenants below theirs. With 0 (the default) the share is work-conserving:
   * while nobody below their share waits, a tenant over it may take every connection, and a
   * unit of work of another tenant that arrives then waits for one to come back (up to one of
   * the flood's units of work). With 1 that unit of work finds a connection free at once; a flood
   * alone runs on `max − 1`. Only tenants on a plan with a share are ever held back.
   *
   * @example
   * ```ts
   * createTenancy({ registryUrl, plans: { default: { maxConnectionShare: 0.3 } }, pool: { max: 10, shareHeadroom: 1 } });
   * ```
   */
  readonly shareHeadroom?: number;
}

/** One server the router reaches. */
export interface ServerTarget {
  readonly id: string;
  readonly url: string;
  readonly replicaUrl?: string | null;
}

/** Where a unit of work goes. */
export interface ConnectTarget {
  readonly server: string;
  /** A tenant database; default: the server's own database. */
  readonly database?: string | null;
  /** Use the server's read replica when it has one. */
  readonly replica?: boolean;
  /** Prefer a connection that last served this key (a tenant id). */
  readonly affinity?: string;
  /** Log in as this role instead of the server URL's user (a strict tenant's): a pool of its own, under the same budget. */
  readonly login?: PoolLogin;
}

/** The part of a pg.Pool that administrative code uses; backed by the server's budget. */
export interface AdminPool {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  connect(): Promise<PooledClient>;
}

interface Entry {
  readonly primary: ServerPool;
  /** Replaced by {@link ConnectionRouter.setReplica}. */
  replica: ServerPool | undefined;
  readonly admin: AdminPool;
}

/**
 * Owns every connection. One {@link ServerPool} per server (and per read replica), each under
 * its own budget, whatever the number of tenants and databases on it.
 */
export class ConnectionRouter {
  readonly #entries = new Map<string, Entry>();
  readonly #settings: ServerPoolSettings;
  readonly #logger: Logger;
  readonly #lookup: (id: string) => Promise<ServerTarget | undefined>;
  readonly #pending = new Map<string, Promise<Entry>>();
  #closed = false;

  constructor(
    options: PoolOptions & { capacity?: number },
    applicationName: string,
    logger: Logger,
    lookup: (id: string) => Promise<ServerTarget | undefined>,
  ) {
    const o = {
      max: options.capacity ?? options.max ?? 10,
      databasePoolMax: options.databasePoolMax ?? 2,
      acquireTimeoutMillis: options.acquireTimeoutMillis ?? 10_000,
      maxWaiting: options.maxWaiting ?? 10_000,
      idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
      maxUses: options.maxUses ?? 100_000,
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 1_800,
      connectTimeoutMillis: options.connectTimeoutMillis ?? 5_000,
      retryDelayMillis: options.retryDelayMillis ?? 1_000,
      shareHeadroom: options.shareHeadroom ?? 0,
    };
    for (const [key, value] of Object.entries(o)) {
      const min = key === 'max' || key === 'databasePoolMax' || key === 'maxUses' || key === 'maxWaiting' ? 1 : 0;
      if (!Number.isInteger(value) || value < min) {
        throw invalidArgument(`pool.${key} must be an integer ≥ ${min}, got ${String(value)}`);
      }
    }
    if (o.shareHeadroom >= o.max) {
      throw invalidArgument(`pool.shareHeadroom must be below pool.max (${o.max}), got ${o.shareHeadroom}`);
    }
    const homeConnections = options.homeConnections ?? true;
    if (typeof homeConnections !== 'boolean') {
      throw invalidArgument(`pool.homeConnections must be a boolean, got ${String(homeConnections)}`);
    }
    this.#settings = Object.freeze({ ...o, capacity: o.max, applicationName, homeConnections });
    this.#logger = logger;
    this.#lookup = lookup;
  }

  /** The per-server budget. */
  get capacity(): number {
    return this.#settings.capacity;
  }

  /** Adds (or replaces the URLs of) a server. */
  addServer(server: ServerTarget): void {
    const old = this.#entries.get(server.id);
    const primary = new ServerPool(server.id, server.url, this.#settings, this.#logger);
    const replica = server.replicaUrl
      ? new ServerPool(
          `${server.id}:replica`,
          server.replicaUrl,
          { ...this.#settings, applicationName: `${this.#settings.applicationName}:replica` },
          this.#logger,
        )
      : undefined;
    this.#entries.set(server.id, {
      primary,
      replica,
      admin: {
        query: async (text, values) => {
          const client = await primary.acquire();
          let destroy = false;
          try {
            return await client.query(text, values);
          } catch (err) {
            destroy = !(err instanceof Error && typeof (err as { severity?: unknown }).severity === 'string');
            throw err;
          } finally {
            primary.release(client, destroy);
          }
        },
        connect: () => primary.acquire(),
      },
    });
    if (old) {
      void old.primary.close();
      void old.replica?.close();
    }
  }

  /**
   * Replaces (or removes, with null) the read replica of a server already known, keeping its
   * primary pools: how the registry's own server (`default`, whose primary is never forgotten)
   * gets the replica stored for it.
   */
  setReplica(id: string, replicaUrl: string | null): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    const old = entry.replica;
    entry.replica =
      replicaUrl === null
        ? undefined
        : new ServerPool(
            `${id}:replica`,
            replicaUrl,
            { ...this.#settings, applicationName: `${this.#settings.applicationName}:replica` },
            this.#logger,
          );
    void old?.close();
  }

  /** Forgets a server's cached URLs so they are read again (after a key rotation or an edit). */
  forgetServer(id: string): void {
    const old = this.#entries.get(id);
    if (!old || id === 'default') return;
    this.#entries.delete(id);
    void old.primary.close();
    void old.replica?.close();
  }

  async #entry(serverId: string): Promise<Entry> {
    if (this.#closed) throw tenancyClosed();
    const entry = this.#entries.get(serverId);
    if (entry) return entry;
    let pending = this.#pending.get(serverId);
    if (!pending) {
      pending = (async () => {
        const target = await this.#lookup(serverId);
        if (!target)
          throw new TenantryError(ErrorCodes.SERVER_UNAVAILABLE, `unknown server '${serverId}'; add it with tenancy.servers.add()`, {
            context: { server: serverId },
          });
        if (!this.#entries.has(serverId)) this.addServer(target);
        return this.#entries.get(serverId)!;
      })().finally(() => this.#pending.delete(serverId));
      this.#pending.set(serverId, pending);
    }
    return await pending;
  }

  /** The pool of a server's own database, for registry and administrative work. */
  async admin(serverId: string): Promise<AdminPool> {
    return (await this.#entry(serverId)).admin;
  }

  /** The admin pool of a server already known (the registry's). */
  adminSync(serverId: string): AdminPool {
    const entry = this.#entries.get(serverId);
    if (!entry) throw new TenantryError(ErrorCodes.SERVER_UNAVAILABLE, `unknown server '${serverId}'`, { context: { server: serverId } });
    return entry.admin;
  }

  /** The name of a server's own database. */
  async mainDatabase(serverId: string): Promise<string> {
    return (await this.#entry(serverId)).primary.mainDatabase;
  }

  /**
   * Checks out a connection for a target. Waits up to `acquireTimeoutMillis`, then fails with
   * `CONNECTION_BUDGET_EXHAUSTED`; an unreachable server fails fast with `SERVER_UNAVAILABLE`.
   *
   * @param share - the tenant's plan share (with `target.affinity` naming the tenant): it holds
   *   no more connections of the server at once.
   */
  connect(target: ConnectTarget, share?: TenantShare): Promise<PooledClient> {
    const entry = this.#entries.get(target.server);
    if (entry === undefined || this.#closed) return this.#connectSlow(target, share);
    const pool = target.replica && entry.replica ? entry.replica : entry.primary;
    // A login's password is read (from the registry, on this same budget) before a slot is
    // reserved: fetched inside the pool it could wait for a slot held by its own connect.
    if (target.login !== undefined)
      return target.login.password().then(() => pool.acquire(target.database ?? undefined, target.affinity, target.login, share));
    return pool.acquire(target.database ?? undefined, target.affinity, target.login, share);
  }

  async #connectSlow(target: ConnectTarget, share: TenantShare | undefined): Promise<PooledClient> {
    const entry = await this.#entry(target.server);
    const pool = target.replica && entry.replica ? entry.replica : entry.primary;
    if (target.login !== undefined) await target.login.password();
    return await pool.acquire(target.database ?? undefined, target.affinity, target.login, share);
  }

  /** Returns a connection; `destroy` closes it instead of pooling it. */
  release(client: PooledClient, destroy?: Error): void {
    client.release(destroy ?? false);
  }

  /** Closes a tenant database's connections before it is dropped. */
  async closeDatabase(serverId: string, database: string): Promise<void> {
    const entry = await this.#entry(serverId);
    await Promise.all([entry.primary.closeDatabase(database), entry.replica?.closeDatabase(database)]);
  }

  async reopenDatabase(serverId: string, database: string): Promise<void> {
    const entry = await this.#entry(serverId);
    entry.primary.reopenDatabase(database);
    entry.replica?.reopenDatabase(database);
  }

  /** Figures per server (replicas as `<id>:replica`). */
  stats(): ServerStats[] {
    return [...this.#entries.values()].flatMap((e) => (e.replica ? [e.primary.stats(), e.replica.stats()] : [e.primary.stats()]));
  }

  /** Ends every pool; waits for checked-out connections to be returned. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#entries.values()].flatMap((e) => [e.primary.close(), e.replica?.close()]));
  }
}
