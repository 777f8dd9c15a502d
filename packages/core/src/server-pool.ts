// Over 450 lines on purpose: the budget, the per-database pools, eviction, the wait queue,
// recycling and the session reset on a change of owner share one piece of state (the idle and
// busy lists of one server) and one invariant (never more than the budget); split across files
// they would each need the whole of it. Fairness lives here for the same reason: a tenant's
// share (its plan's maxConnectionShare) is counted against the same busy list, and the wait
// queue serves tenants in turn (round robin by tenant, FIFO within a tenant).
import pg from 'pg';
import { ErrorCodes, tenancyClosed, TenantryError } from './errors.js';
import { classifyPgError, sqlState } from './pg-errors.js';
import type { Logger } from './logger.js';
import { connectionShare } from './plans.js';
import { ADMIN_OWNER, AdvisoryUnlock, SessionReset, TenantQuery } from './tenant-query.js';
import { connectionState } from './unit-of-work.js';

/** Settings of one server's connections. */
export interface ServerPoolSettings {
  /** Most connections open to this server, over all its databases. */
  readonly capacity: number;
  /** Most connections to one tenant database (database-per-tenant). */
  readonly databasePoolMax: number;
  /** How long a caller waits for a connection. */
  readonly acquireTimeoutMillis: number;
  /** Callers allowed to wait at once; beyond that they fail at once. */
  readonly maxWaiting: number;
  readonly idleTimeoutMillis: number;
  readonly maxUses: number;
  readonly maxLifetimeSeconds: number;
  readonly connectTimeoutMillis: number;
  /** After a failed connect, callers fail fast for this long before the server is tried again. */
  readonly retryDelayMillis: number;
  readonly applicationName: string;
  /**
   * Home connections (default true): each tenant of the server's own database prefers one
   * connection of the pool (its home, {@link homeSlot}), so each backend caches the catalog of
   * fewer tenants. False: only the affinity to the connection that last served the tenant.
   */
  readonly homeConnections?: boolean;
  /** Connections a tenant over its share may not take: kept free for tenants below theirs (0: work-conserving). */
  readonly shareHeadroom?: number;
}

/** What a tenant's plan allows it on a server, passed with each checkout. */
export interface TenantShare {
  /** The plan's name (for figures). */
  readonly name: string;
  /** The plan's `maxConnectionShare`: a fraction of the budget or a count; undefined = the whole budget. */
  readonly maxConnectionShare?: number | undefined;
}

/** One tenant's use of a server, as {@link ServerStats.tenants} lists it. */
export interface TenantShareStats {
  readonly tenant: string;
  readonly plan: string;
  /** Connections it holds (in use, or being opened for it). */
  readonly inUse: number;
  /** Most it may hold at once. */
  readonly share: number;
  /** Its callers waiting for a connection. */
  readonly waiting: number;
}

/** Figures of one server. */
export interface ServerStats {
  readonly server: string;
  /** Connections open (in use + idle + opening). */
  readonly total: number;
  readonly idle: number;
  readonly inUse: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  /** The budget. */
  readonly max: number;
  /** Databases with open connections (per-database pools). */
  readonly pools: number;
  readonly checkouts: number;
  /** Connections opened since start. */
  readonly opened: number;
  /** Idle connections closed to make room for another database. */
  readonly evictions: number;
  /** Connections destroyed because they failed or could not be cleaned. */
  readonly destroyed: number;
  /** False while the server is failing to accept connections. */
  readonly available: boolean;
  /** Tenants holding or waiting for connections now, with their share (others hold none). */
  readonly tenants: readonly TenantShareStats[];
}

/** Credentials a pool's connections log in with instead of the server URL's (a strict tenant's role). */
export interface PoolLogin {
  readonly user: string;
  /** Asked for only when a connection is opened. */
  readonly password: () => Promise<string>;
}

/** The pool a connection belongs to: its database, and the login role when not the URL's. */
function poolKey(database: string, login: PoolLogin | undefined): string {
  return login === undefined ? database : `${database}\u0000${login.user}`;
}

interface Conn {
  readonly client: pg.Client;
  /** Its pool: the database, or database and login role ({@link poolKey}). */
  readonly key: string;
  readonly database: string;
  /** The tenant it last served (affinity: a backend that keeps to fewer tenants keeps warmer caches). */
  affinity: string | undefined;
  /** Its place among the connections of the server's own database (the home of the tenants that hash to it), or -1. */
  slot: number;
  /**
   * The tenants it has served since it was opened (with homes on): its backend has their catalog
   * cached, so serving them again costs no cold first statement. As big as that backend's own
   * caches, at most: it is dropped with the connection (`maxUses`, `maxLifetimeSeconds`).
   */
  readonly served: Set<string>;
  /** The tenant it is checked out to, counted in that tenant's share; undefined when idle or for admin work. */
  holder: string | undefined;
  readonly created: number;
  uses: number;
  lastUsed: number;
  idle: boolean;
  closed: boolean;
}

interface Waiter {
  readonly key: string;
  readonly database: string;
  readonly login: PoolLogin | undefined;
  /** The tenant it waits for (its queue), undefined for registry and admin work. */
  readonly affinity: string | undefined;
  readonly resolve: (conn: Conn) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  /** Times a waiter behind it in turn was served first on a connection warm for it (at most the budget: see `ServerPool`). */
  bypassed: number;
}

/** A tenant's connections on one server, while it holds or waits for some. */
interface TenantUse {
  held: number;
  /** Most it may hold (its plan's share of the budget, as last asked for). */
  limit: number;
  plan: string;
}

/** A pooled connection as callers see it: a pg client with `release()`. */
export type PooledClient = pg.PoolClient;

const conns = new WeakMap<pg.Client, Conn>();

function urlFor(base: string, database: string, user?: string): string {
  const u = new URL(base);
  u.pathname = `/${encodeURIComponent(database)}`;
  if (user !== undefined) {
    u.username = encodeURIComponent(user);
    u.password = '';
  }
  return u.toString();
}

/**
 * A tenant's home among `slots` connections: FNV-1a of its id, modulo the pool's capacity. Stable
 * for a given budget, whatever else is open or waiting; tenants spread evenly over the slots.
 */
export function homeSlot(tenant: string, slots: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tenant.length; i++) {
    h ^= tenant.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % slots;
}

/**
 * A connection changes hands: when whoever used it last (a tenant, or Tenantry's own registry
 * and administrative work) is not who gets it now, its session is reset before the next
 * statement runs — whatever the previous owner's SQL did to it, seen or not. Same-owner reuse
 * (tenant affinity makes it the common case) needs no reset: routing never depends on session
 * state (see tenant-query.ts).
 */
function handOver(client: pg.Client, affinity: string | undefined): void {
  const state = connectionState(client);
  const owner = affinity ?? ADMIN_OWNER;
  if (state.owner !== undefined && state.owner !== owner) state.resetPending = true;
  state.owner = owner;
}

/**
 * Queries that are not a {@link TenantQuery} (which carries the reset in its own batch) are
 * preceded by a {@link SessionReset} when one is pending: registry and admin queries,
 * migrations and seeds, whatever uses the pooled client directly.
 */
function resetBeforeRawQueries(client: pg.Client): void {
  const state = connectionState(client);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]): unknown => {
    if (state.resetPending && !(args[0] instanceof TenantQuery)) {
      // Queued first: pg sends the next query only once this one is answered.
      state.resetPending = false;
      state.unlockPending = false;
      query(new SessionReset(state));
    } else if (state.unlockPending && !(args[0] instanceof TenantQuery)) {
      // The last unit of work's session advisory locks, released before this query runs.
      state.unlockPending = false;
      query(new AdvisoryUnlock(state));
    }
    return query(...args);
  };
}

/** The database named in a connection URL (PostgreSQL defaults it to the user name). */
export function databaseOf(url: string): string {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return db || decodeURIComponent(u.username) || 'postgres';
}

/**
 * Every connection Tenantry holds to one PostgreSQL server, over all its databases, under one
 * budget. A database's connections form a small pool; when the budget is full, the
 * least-recently-used idle connection of another database is closed to make room, and
 * callers that still find none wait in a bounded queue, then fail with
 * `CONNECTION_BUDGET_EXHAUSTED`. Connections are recycled after `maxUses` checkouts or
 * `maxLifetimeSeconds`.
 *
 * Fairness: waiters are queued per tenant (registry and admin work in a queue of its own) and
 * the queues are served in turn: a tenant with 32 waiting callers gets one connection, then the
 * next waiting tenant gets one. A tenant that holds its plan's share of the budget
 * (`maxConnectionShare`) is served only when no tenant below its share has a waiter that the
 * connection could serve: while others wait, every connection that comes back goes to them.
 * When nobody else waits it may use the whole budget (work-conserving: a share never leaves a
 * connection unused, and never fails a caller that a plain first-come queue would have served).
 * Within that order a connection that comes back goes first to a waiter of its own database, as
 * a plain queue's hand-off would (closing it to open one to another database costs a connect).
 *
 * Homes: each connection to the server's own database holds a slot (0 … budget − 1) and each
 * tenant has a home slot ({@link homeSlot}). A backend's first statement in a tenant costs
 * PostgreSQL several times a warm one (its relation and catalog caches fill for that schema),
 * and every tenant a backend touches stays in its memory; keeping each tenant on its home cuts
 * the (backend, tenant) pairs from up to tenants × budget towards a few per tenant. A connection
 * is "warm" for a tenant when it is its home or served it before (`Conn.served`). An idle
 * checkout takes the most recently used connection if it is warm for the tenant, else the one
 * that last served it, else its home, else any warm one, else the most recently used. When a
 * connection comes back to waiters, the first waiter it is warm for — among the next few in turn
 * of the same group — is served before those ahead of it; a waiter passed over like that as many
 * times as the budget is served next in turn whatever the connection (no starvation: a bounded
 * delay; the turn and the shares unchanged).
 */
export class ServerPool {
  readonly id: string;
  readonly mainDatabase: string;
  readonly #url: string;
  readonly #s: ServerPoolSettings;
  readonly #logger: Logger;
  #open = 0;
  readonly #perDb = new Map<string, number>();
  readonly #idle = new Map<string, Conn[]>();
  /** Idle connections, least recently used first. */
  readonly #idleOrder = new Set<Conn>();
  /**
   * Waiters per tenant ({@link ADMIN_OWNER} for registry and admin work), FIFO within a queue.
   * The map's order is the turn: a queue that is served moves to the back.
   */
  readonly #queues = new Map<string, Waiter[]>();
  #waiting = 0;
  /** Tenants holding or waiting for connections: what they hold against their share. */
  readonly #tenants = new Map<string, TenantUse>();
  readonly #closing = new Set<string>();
  #downUntil = 0;
  #lastError: unknown;
  #closed = false;
  #drained: (() => void) | undefined;
  readonly #reaper: NodeJS.Timeout;
  #checkouts = 0;
  #opened = 0;
  #evictions = 0;
  #destroyed = 0;
  /** Whether tenants have a home connection ({@link ServerPoolSettings.homeConnections}). */
  readonly #homes: boolean;
  /** The connections of the server's own database by slot (undefined: free). */
  readonly #slots: (Conn | undefined)[];
  /** How many waiters in turn a returning connection looks at for one it is warm for (its home, or served before). */
  readonly #window: number;
  /** Times a waiter may be passed over for a warm waiter behind it; then it is served in turn. */
  readonly #maxBypass: number;

  constructor(id: string, url: string, settings: ServerPoolSettings, logger: Logger) {
    this.id = id;
    this.#url = url;
    this.mainDatabase = databaseOf(url);
    this.#s = settings;
    this.#logger = logger;
    this.#homes = settings.homeConnections ?? true;
    this.#slots = new Array<Conn | undefined>(settings.capacity).fill(undefined);
    this.#window = Math.min(settings.capacity, 16);
    this.#maxBypass = settings.capacity;
    this.#reaper = setInterval(() => this.#reap(), Math.max(250, Math.min(5_000, settings.idleTimeoutMillis / 2)));
    this.#reaper.unref();
  }

  /**
   * Checks out a connection to `database` (default: the server's own database).
   *
   * @param affinity - who the connection is for (a tenant id): an idle connection that last served
   *   it is preferred, and so is a waiter for it when a connection comes back. Each backend then
   *   sees fewer tenants — warmer catalog caches, less memory — at no cost to isolation, which
   *   every statement carries itself.
   */
  acquire(database: string = this.mainDatabase, affinity?: string, login?: PoolLogin, share?: TenantShare): Promise<PooledClient> {
    if (this.#closed) return Promise.reject(tenancyClosed());
    if (this.#downUntil !== 0 && Date.now() < this.#downUntil) return Promise.reject(this.#unavailable(this.#lastError));
    const key = poolKey(database, login);
    if (affinity !== undefined) this.#use(affinity, share);
    // A tenant whose earlier callers still wait queues behind them. Otherwise what is free now
    // is free for anyone: after every release the pump has served every waiter it could.
    if (affinity === undefined || (!this.#queues.has(affinity) && !this.#heldBack(affinity))) {
      const idle = this.#takeIdle(key, affinity);
      if (idle !== undefined) {
        this.#grant(affinity);
        return Promise.resolve(this.#checkout(idle, affinity));
      }
      const opening = this.#tryOpen(key, database, login, affinity);
      if (opening !== undefined) {
        this.#grant(affinity);
        return opening.then(
          (conn) => this.#checkout(conn, affinity),
          (err: unknown) => {
            this.#ungrant(affinity);
            throw err;
          },
        );
      }
    }
    return this.#wait(key, database, login, affinity).then((conn) => this.#checkout(conn, affinity));
  }

  /** Records a tenant's plan share as asked for (a plan change applies from its next checkout). */
  #use(tenant: string, share: TenantShare | undefined): void {
    const limit = connectionShare(share?.maxConnectionShare, this.#s.capacity);
    const plan = share?.name ?? 'default';
    const use = this.#tenants.get(tenant);
    if (use === undefined) this.#tenants.set(tenant, { held: 0, limit, plan });
    else if (use.limit !== limit || use.plan !== plan) {
      use.limit = limit;
      use.plan = plan;
    }
  }

  /** Whether a tenant is below its share. */
  #mayTake(tenant: string): boolean {
    const use = this.#tenants.get(tenant);
    return use === undefined || use.held < use.limit;
  }

  /**
   * Whether a tenant over its share must leave what is free to others: no more free connections
   * (idle, or budget not yet opened) than `shareHeadroom` are left.
   */
  #heldBack(tenant: string): boolean {
    const headroom = this.#s.shareHeadroom ?? 0;
    if (headroom === 0 || this.#mayTake(tenant)) return false;
    return this.#idleOrder.size + this.#s.capacity - this.#open <= headroom;
  }

  /** Counts a connection (in use or being opened) against a tenant's share. */
  #grant(tenant: string | undefined): void {
    if (tenant === undefined) return;
    const use = this.#tenants.get(tenant);
    if (use !== undefined) use.held++;
  }

  /** Gives back a tenant's place in its share. */
  #ungrant(tenant: string | undefined): void {
    if (tenant === undefined) return;
    const use = this.#tenants.get(tenant);
    if (use === undefined) return;
    use.held--;
    this.#forget(tenant);
  }

  /** Drops a tenant's figures once it holds nothing and nobody of it waits. */
  #forget(tenant: string | undefined): void {
    if (tenant === undefined || this.#queues.has(tenant)) return;
    const use = this.#tenants.get(tenant);
    if (use !== undefined && use.held <= 0) this.#tenants.delete(tenant);
  }

  #checkout(conn: Conn, affinity: string | undefined): PooledClient {
    conn.idle = false;
    conn.holder = affinity;
    // Registry and admin work (no affinity) leaves the tenant it last served in place.
    if (affinity !== undefined) {
      conn.affinity = affinity;
      if (conn.slot >= 0) conn.served.add(affinity);
    }
    handOver(conn.client, affinity);
    this.#checkouts++;
    return conn.client as PooledClient;
  }

  /** Returns a connection; `destroy` closes it instead of keeping it. */
  release(client: pg.Client, destroy = false): void {
    const conn = conns.get(client);
    if (conn === undefined || conn.closed || conn.idle) return;
    if (conn.holder !== undefined) {
      const holder = conn.holder;
      conn.holder = undefined;
      this.#ungrant(holder);
    }
    conn.uses++;
    conn.lastUsed = Date.now();
    const expired = conn.uses >= this.#s.maxUses || conn.lastUsed - conn.created >= this.#s.maxLifetimeSeconds * 1000;
    if (
      destroy ||
      expired ||
      this.#closed ||
      this.#closing.has(conn.database) ||
      !(client as unknown as { _queryable?: boolean })._queryable
    ) {
      if (destroy) this.#destroyed++;
      void this.#close(conn);
      this.#pump();
      return;
    }
    // Idle first, then the waiters in turn: the next tenant in the queue's rotation gets it (or,
    // when it needs another database, makes room by evicting the least recently used idle one).
    conn.idle = true;
    let stack = this.#idle.get(conn.key);
    if (stack === undefined) {
      stack = [];
      this.#idle.set(conn.key, stack);
    }
    stack.push(conn);
    this.#idleOrder.add(conn);
    this.#pump();
  }

  /** Closes a database's connections (idle now, in use when released): before it is dropped or cloned. */
  async closeDatabase(database: string): Promise<void> {
    this.#closing.add(database);
    const ending = [...this.#idleOrder].filter((conn) => conn.database === database).map((conn) => this.#close(conn));
    this.#pump();
    await Promise.all(ending);
  }

  /** Lets a database be pooled again after {@link closeDatabase}. */
  reopenDatabase(database: string): void {
    this.#closing.delete(database);
    // Its waiters (if they have not timed out) can be served now.
    this.#pump();
  }

  stats(): ServerStats {
    return {
      server: this.id,
      total: this.#open,
      idle: this.#idleOrder.size,
      inUse: this.#open - this.#idleOrder.size,
      waiting: this.#waiting,
      max: this.#s.capacity,
      pools: this.#perDb.size,
      checkouts: this.#checkouts,
      opened: this.#opened,
      evictions: this.#evictions,
      destroyed: this.#destroyed,
      available: Date.now() >= this.#downUntil,
      tenants: [...this.#tenants].map(([tenant, use]) => ({
        tenant,
        plan: use.plan,
        inUse: use.held,
        share: use.limit,
        waiting: this.#queues.get(tenant)?.length ?? 0,
      })),
    };
  }

  /** Closes idle connections now and the others as they come back; resolves when all are closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#reaper);
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    this.#waiting = 0;
    for (const w of queues.flat()) {
      clearTimeout(w.timer);
      w.reject(tenancyClosed('while waiting for a connection'));
    }
    for (const conn of [...this.#idleOrder]) void this.#close(conn);
    if (this.#open > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
  }

  /** Takes a waiter out of its queue; a tenant served moves to the back of the turn. */
  #removeWaiter(w: Waiter, served: boolean): void {
    const name = w.affinity ?? ADMIN_OWNER;
    const queue = this.#queues.get(name);
    const i = queue?.indexOf(w) ?? -1;
    if (i < 0) return;
    queue!.splice(i, 1);
    this.#waiting--;
    if (queue!.length === 0) {
      this.#queues.delete(name);
      this.#forget(w.affinity);
    } else if (served) {
      this.#queues.delete(name);
      this.#queues.set(name, queue!);
    }
  }

  /** Most connections of one pool: the server's own database may use the whole budget, others `databasePoolMax`. */
  #dbMax(key: string): number {
    return key === this.mainDatabase ? this.#s.capacity : Math.min(this.#s.databasePoolMax, this.#s.capacity);
  }

  #count(key: string): number {
    return this.#perDb.get(key) ?? 0;
  }

  /** The tenant's home slot when `key` is the server's own database and homes are on; else -1. */
  #home(key: string, affinity: string | undefined): number {
    return this.#homes && affinity !== undefined && key === this.mainDatabase ? homeSlot(affinity, this.#s.capacity) : -1;
  }

  #takeIdle(key: string, affinity?: string): Conn | undefined {
    const stack = this.#idle.get(key);
    if (stack === undefined || stack.length === 0) return undefined;
    // The most recently used connection when it served this tenant before (its backend has the
    // tenant's catalog cached, and a backend that just ran is the quickest to run again); else
    // the connection that last served the tenant, else its home, else one that served it
    // before, else the most recently used. (Taking the home over a warm most recent one cost
    // the others' p99 in bench:fairness, where every backend is warm for every tenant.)
    let at = stack.length - 1;
    const top = stack[at]!;
    if (affinity !== undefined && top.affinity !== affinity && !top.served.has(affinity)) {
      const home = this.#home(key, affinity);
      let bestAt = -1;
      let warmAt = -1;
      for (let i = at; i >= 0; i--) {
        const c = stack[i]!;
        if (c.affinity === affinity) {
          bestAt = i;
          break;
        }
        if (home < 0) continue;
        if (bestAt < 0 && c.slot === home) bestAt = i;
        else if (warmAt < 0 && c.served.has(affinity)) warmAt = i;
      }
      if (bestAt >= 0) at = bestAt;
      else if (warmAt >= 0) at = warmAt;
    }
    const conn = stack[at]!;
    if (at === stack.length - 1) stack.pop();
    else stack.splice(at, 1);
    if (stack.length === 0) this.#idle.delete(key);
    this.#idleOrder.delete(conn);
    return conn;
  }

  /** Opens a connection now if the budget allows (evicting an idle one of another database if needed). */
  #tryOpen(key: string, database: string, login: PoolLogin | undefined, affinity: string | undefined): Promise<Conn> | undefined {
    if (this.#closing.has(database) || this.#count(key) >= this.#dbMax(key)) return undefined;
    if (this.#open < this.#s.capacity) return this.#connect(key, database, login, false, affinity);
    const victim = this.#idleOrder.values().next().value as Conn | undefined;
    if (victim === undefined) return undefined;
    this.#evictions++;
    // The victim's place in the budget passes straight to the new connection, counted in its
    // pool now: nobody else can take it while the victim closes (a caller that closed a
    // connection for room and then found the room taken would wait again, from the back).
    this.#perDb.set(key, this.#count(key) + 1);
    return this.#close(victim, true).then(() => {
      if (!this.#closed) return this.#connect(key, database, login, true, affinity);
      this.#uncount(key);
      this.#open--;
      if (this.#open === 0 && this.#drained) this.#drained();
      throw tenancyClosed('while waiting for a connection');
    });
  }

  /** Queues a caller in its tenant's queue until {@link pump} serves it. */
  #wait(key: string, database: string, login: PoolLogin | undefined, affinity: string | undefined): Promise<Conn> {
    if (this.#waiting >= this.#s.maxWaiting) {
      this.#forget(affinity);
      return Promise.reject(this.#exhausted(`${this.#waiting} callers are already waiting`));
    }
    return new Promise<Conn>((resolve, reject) => {
      const waiter: Waiter = { key, database, login, affinity, resolve, reject, timer: undefined, bypassed: 0 };
      waiter.timer = setTimeout(() => {
        this.#removeWaiter(waiter, false);
        const use = affinity === undefined ? undefined : this.#tenants.get(affinity);
        reject(
          use !== undefined && use.held >= use.limit && use.limit < this.#s.capacity
            ? this.#atShare(use)
            : this.#exhausted(`no connection became free within ${this.#s.acquireTimeoutMillis} ms`),
        );
      }, this.#s.acquireTimeoutMillis);
      const name = affinity ?? ADMIN_OWNER;
      const queue = this.#queues.get(name);
      if (queue === undefined) this.#queues.set(name, [waiter]);
      else queue.push(waiter);
      this.#waiting++;
    });
  }

  /** Serves waiters from idle connections or free budget, in the order {@link pick} gives, while it gives one. */
  #pump(): void {
    while (this.#waiting > 0) {
      const next = this.#pick();
      if (next === undefined) return;
      const [w, ready] = next;
      const tenant = w.affinity;
      // Counted before the waiter leaves its queue: a tenant with none left and nothing held is forgotten.
      this.#grant(tenant);
      this.#removeWaiter(w, true);
      clearTimeout(w.timer);
      ready.then(w.resolve, (err: unknown) => {
        this.#ungrant(tenant);
        w.reject(err as Error);
      });
    }
  }

  /**
   * The waiter to serve next, with its connection (taken or being opened), or undefined when no
   * waiter can be served now. Tenants below their share (and registry work) first; tenants at it
   * only then — work-conserving: what no one below the share can use. Within each group, two
   * steps, each walking the queues in their turn (FIFO within a queue):
   *
   *   1. waiters an idle connection of their own database can serve (nothing closed or opened),
   *      as a plain queue's hand-off would: switching a connection to another database costs a
   *      close and a connect during which it serves nobody, and under load switching at every
   *      turn cut throughput five-fold (evictions from ~3 to ~90 per 200 units of work);
   *   2. waiters that need a new connection: free budget, or closing the least recently used
   *      idle connection of another database.
   */
  #pick(): [Waiter, Promise<Conn>] | undefined {
    // Nothing idle and no room to open one: no waiter can be served (the scan below would try
    // every queue four times to find that out — under load, after every hand-off).
    if (this.#idleOrder.size === 0 && this.#open >= this.#s.capacity) return undefined;
    for (const atShare of [false, true]) {
      for (const idleOnly of [true, false]) {
        if (idleOnly) {
          const warm = this.#pickWarm(atShare);
          if (warm !== undefined) return [warm, Promise.resolve(this.#takeIdle(warm.key, warm.affinity)!)];
        }
        for (const [name, queue] of this.#queues) {
          if (name === ADMIN_OWNER ? atShare : this.#mayTake(name) === atShare) continue;
          if (atShare && this.#heldBack(name)) continue;
          // A queue's waiters almost always want the same database: each one is tried once per step.
          const tried: string[] = [];
          for (const w of queue) {
            if (tried.includes(w.key)) continue;
            tried.push(w.key);
            const ready = idleOnly ? this.#takeIdle(w.key, w.affinity) : this.#tryOpen(w.key, w.database, w.login, w.affinity);
            if (ready !== undefined) return [w, ready instanceof Promise ? ready : Promise.resolve(ready)];
          }
        }
      }
    }
    return undefined;
  }

  /**
   * Step 1 of {@link pick} with homes: among the first {@link window} waiters in turn of the group
   * that an idle connection of the server's own database could serve, the first that one of those
   * connections would serve warm (its home, or one that served its tenant before) — undefined when
   * there is none, or when a waiter ahead of it has been passed over {@link maxBypass} times
   * already (then the turn decides). Only the head of each queue is looked at (a tenant's waiters
   * share one home); each waiter it passes over counts one bypass.
   */
  #pickWarm(atShare: boolean): Waiter | undefined {
    const idle = this.#homes ? this.#idle.get(this.mainDatabase) : undefined;
    if (idle === undefined) return undefined;
    const ahead: Waiter[] = [];
    for (const [name, queue] of this.#queues) {
      if (name === ADMIN_OWNER ? atShare : this.#mayTake(name) === atShare) continue;
      if (atShare && this.#heldBack(name)) continue;
      const w = queue[0]!;
      if (w.key !== this.mainDatabase) {
        // A waiter of another database that an idle connection can serve now keeps its turn.
        if (this.#idle.has(w.key)) return undefined;
        continue;
      }
      if (w.bypassed >= this.#maxBypass) return undefined;
      const tenant = w.affinity;
      if (tenant !== undefined) {
        const home = homeSlot(tenant, this.#s.capacity);
        // Under load one connection is idle at a time: the loop is short.
        for (const c of idle) {
          if (c.slot === home || c.served.has(tenant)) {
            for (const p of ahead) p.bypassed++;
            return w;
          }
        }
      }
      ahead.push(w);
      if (ahead.length >= this.#window) return undefined;
    }
    return undefined;
  }

  /** Gives a connection of the server's own database a slot: the tenant's home when free, else the first free one. */
  #takeSlot(conn: Conn, affinity: string | undefined): void {
    if (!this.#homes || conn.key !== this.mainDatabase) return;
    const home = this.#home(conn.key, affinity);
    const slot = home >= 0 && this.#slots[home] === undefined ? home : this.#slots.indexOf(undefined);
    if (slot < 0) return;
    conn.slot = slot;
    this.#slots[slot] = conn;
  }

  /** Frees a connection's slot (it is closing or failed to open). */
  #freeSlot(conn: Conn): void {
    if (conn.slot >= 0 && this.#slots[conn.slot] === conn) this.#slots[conn.slot] = undefined;
    conn.slot = -1;
  }

  /** Opens a connection; `counted`: its place in the budget and in its pool is already counted (an eviction's). */
  async #connect(
    key: string,
    database: string,
    login: PoolLogin | undefined,
    counted: boolean,
    affinity: string | undefined,
  ): Promise<Conn> {
    if (!counted) {
      this.#open++;
      this.#perDb.set(key, this.#count(key) + 1);
    }
    const client = new pg.Client({
      connectionString: urlFor(this.#url, database, login?.user),
      application_name: this.#s.applicationName,
      connectionTimeoutMillis: this.#s.connectTimeoutMillis,
    });
    // A strict tenant's own login role: its password is fetched only now (registry + decrypt).
    // Set after construction: the connection string's (empty) password would override an option.
    if (login !== undefined) (client as unknown as { password: () => Promise<string> }).password = login.password;
    const conn: Conn = {
      client,
      key,
      database,
      affinity: undefined,
      slot: -1,
      served: new Set(),
      holder: undefined,
      created: Date.now(),
      uses: 0,
      lastUsed: Date.now(),
      idle: false,
      closed: false,
    };
    this.#takeSlot(conn, affinity);
    // Before connecting: the parameter values reported at startup are the session's baseline.
    connectionState(client);
    client.on('error', (err) => {
      // An idle connection whose server went away: drop it. An in-use one is handled by its user.
      if (conn.idle) {
        this.#logger.warn({ err, server: this.id, database }, 'idle tenantry connection failed; it was closed');
        void this.#close(conn);
        this.#pump();
      }
    });
    try {
      await client.connect();
    } catch (err) {
      this.#freeSlot(conn);
      this.#release(conn);
      client.end().catch(() => undefined);
      if (sqlState(err) === '3D000') {
        throw new TenantryError(
          ErrorCodes.TENANT_NOT_FOUND,
          `database '${database}' does not exist on server '${this.id}'; run tenancy.reconcile() to find registry rows without data`,
          {
            cause: err,
            context: { server: this.id },
          },
        );
      }
      if (classifyPgError(err).connectionLevel) {
        this.#downUntil = Date.now() + this.#s.retryDelayMillis;
        this.#lastError = err;
      }
      this.#pump();
      throw this.#unavailable(err);
    }
    this.#downUntil = 0;
    this.#opened++;
    resetBeforeRawQueries(client);
    conns.set(client, conn);
    (client as unknown as { release: (err?: Error | boolean) => void }).release = (err?: Error | boolean) =>
      this.release(client, err !== undefined && err !== false);
    return conn;
  }

  /** Closes a connection; `passOn`: its place in the budget goes to the connection evicting it, not back to the budget. */
  #close(conn: Conn, passOn = false): Promise<void> {
    if (conn.closed) return Promise.resolve();
    if (conn.idle) {
      const stack = this.#idle.get(conn.key);
      const i = stack?.indexOf(conn) ?? -1;
      if (i >= 0) stack!.splice(i, 1);
      if (stack?.length === 0) this.#idle.delete(conn.key);
      this.#idleOrder.delete(conn);
      conn.idle = false;
    }
    conn.closed = true;
    this.#freeSlot(conn);
    // Its home slot is free at once (a label); its place in the budget is given back only once
    // the backend is gone, so the server never sees more than the budget, even while an evicted
    // connection is still closing.
    return conn.client
      .end()
      .catch(() => undefined)
      .then(() => {
        if (passOn) {
          this.#uncount(conn.key);
          return;
        }
        this.#release(conn);
        this.#pump();
      });
  }

  /** Gives back a connection's place in the budget. */
  #release(conn: Conn): void {
    this.#open--;
    this.#uncount(conn.key);
    if (this.#open === 0 && this.#drained) this.#drained();
  }

  /** Takes a connection out of its pool's count. */
  #uncount(key: string): void {
    const n = this.#count(key) - 1;
    if (n <= 0) this.#perDb.delete(key);
    else this.#perDb.set(key, n);
  }

  #reap(): void {
    const cutoff = Date.now() - this.#s.idleTimeoutMillis;
    for (const conn of [...this.#idleOrder]) {
      if (conn.lastUsed > cutoff) break;
      void this.#close(conn);
    }
  }

  #exhausted(why: string): TenantryError {
    return new TenantryError(
      ErrorCodes.CONNECTION_BUDGET_EXHAUSTED,
      `all ${this.#s.capacity} connections to server '${this.id}' are busy (${why}); raise pool.max (maxConnectionsPerServer) or pool.acquireTimeoutMillis, or shorten units of work`,
      { context: { server: this.id } },
    );
  }

  #atShare(use: TenantUse): TenantryError {
    return new TenantryError(
      ErrorCodes.CONNECTION_BUDGET_EXHAUSTED,
      `the tenant holds its plan's share of server '${this.id}' (${use.held} of ${this.#s.capacity} connections, plan '${use.plan}') and none of its connections came back within ${this.#s.acquireTimeoutMillis} ms; raise the plan's maxConnectionShare, or shorten its units of work`,
      { context: { server: this.id } },
    );
  }

  #unavailable(cause: unknown): TenantryError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new TenantryError(
      ErrorCodes.SERVER_UNAVAILABLE,
      `PostgreSQL server '${this.id}' is unavailable (${detail}); check that it is running and reachable`,
      {
        cause,
        context: { server: this.id, retryAfterSeconds: Math.max(1, Math.ceil(this.#s.retryDelayMillis / 1000)) },
      },
    );
  }
}
