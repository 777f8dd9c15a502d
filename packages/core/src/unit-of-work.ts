import type pg from 'pg';
import { ErrorCodes, TenantryError } from './errors.js';
import { classifyPgError, isServerError } from './pg-errors.js';
import {
  AdvisoryUnlock,
  TenantQuery,
  newConnectionState,
  sessionWasReset,
  timedPrefix,
  type ConnectionState,
  type QueryConfig,
  type RoutePrefix,
} from './tenant-query.js';
import type { TenancyInternals } from './internals.js';
import type { Logger } from './logger.js';
import { performance } from 'node:perf_hooks';
import { enterContext } from './tenant-context.js';
import type { Tenant } from './types.js';

/** Options of one unit of work. */
export interface UnitOfWorkOptions {
  /** Every statement runs in a read-only transaction; writes fail with SQLSTATE 25006. */
  readonly readOnly?: boolean;
}

/** A result row; columns by name. */
export type Row = Record<string, unknown>;

/** Something that runs queries in the tenant. */
export interface TenantQueryable {
  /**
   * Runs one statement in the tenant, with bind parameters (`$1`, `$2`…). One round trip.
   * Errors from PostgreSQL are passed through as `pg` raised them (with their SQLSTATE `code`).
   */
  query<R extends pg.QueryResultRow = Row>(text: string | QueryConfig, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

/** pg's callback style, as ORMs call it. */
type QueryCallback = (err: Error | null, result?: pg.QueryResult) => void;

/** A pg Submittable (pg-cursor, pg-query-stream). */
interface Submittable {
  submit(connection: unknown): void;
}

/**
 * The `pg`-compatible client that ORM adapters bind to. Every query carries the tenant, like
 * {@link TenantDb.query}. Do not release it: the unit of work owns the connection.
 */
export interface TenantBoundClient {
  query(
    config: string | QueryConfig,
    values?: readonly unknown[] | QueryCallback,
    callback?: QueryCallback,
  ): Promise<pg.QueryResult> | undefined;
  query<S extends Submittable>(submittable: S): S;
  /** No-op: the unit of work returns the connection when it ends. */
  release(): void;
  escapeIdentifier(value: string): string;
  escapeLiteral(value: string): string;
}

/** Connection state kept beside pg's, one per physical connection. */
const states = new WeakMap<pg.PoolClient, ConnectionState>();

/**
 * Tenantry's state for a pooled connection, created (and wired) on first use. The pool creates
 * it before the connection opens, so that the parameter values the server reports at startup
 * are the baseline against which later reports are compared.
 */
export function connectionState(client: pg.PoolClient | pg.Client): ConnectionState {
  const key = client as pg.PoolClient;
  let state = states.get(key);
  if (state === undefined) {
    const s: ConnectionState = newConnectionState();
    state = s;
    states.set(key, s);
    // A checked-out client that loses its socket emits 'error'; without a listener the process dies.
    client.on('error', () => {
      s.broken = true;
    });
    // PostgreSQL reports (ParameterStatus) the session-level value of TimeZone, DateStyle,
    // search_path (18+), client_encoding, session_authorization… when it changes, even through
    // a function: a value that differs from the one at startup is session state left behind.
    // Transaction-local changes are reported too when a transaction is open, and reported back
    // at its end, so a connection whose values all returned is clean.
    const baseline = new Map<string, string>();
    const conn = client as unknown as {
      _connecting?: boolean;
      _connected?: boolean;
      connection?: { on(event: string, fn: (msg: { parameterName: string; parameterValue: string }) => void): void };
    };
    const starting = conn._connected !== true;
    conn.connection?.on('parameterStatus', (msg) => {
      // Behind PgBouncer a server connection reports its own application_name after a reset,
      // not this client's; a changed application_name is harmless anyway.
      if (msg.parameterName === 'application_name') return;
      if (starting && conn._connected !== true) {
        baseline.set(msg.parameterName, msg.parameterValue);
        return;
      }
      if (baseline.get(msg.parameterName) === msg.parameterValue) s.changed.delete(msg.parameterName);
      else s.changed.add(msg.parameterName);
    });
  }
  return state;
}

function transactionStatus(client: pg.PoolClient): string | null {
  return (client as unknown as { getTransactionStatus?: () => string | null }).getTransactionStatus?.() ?? null;
}

/**
 * The handle a unit of work gets: every query runs in its tenant. It is valid only until the
 * `withTenant` callback settles; afterwards every call fails with `UNIT_OF_WORK_CLOSED`.
 *
 * @example
 * ```ts
 * await tenancy.withTenant('acme', async (db) => {
 *   await db.transaction(async (tx) => {
 *     await tx.query('insert into posts (title) values ($1)', ['Hello']);
 *     await tx.query('update counters set n = n + 1');
 *   });
 *   const { rows } = await db.query('select * from posts where id = $1', [id]);
 * });
 * ```
 */
export class TenantDb implements TenantQueryable {
  /** The tenant this unit of work is bound to. */
  readonly tenant: Tenant;
  readonly readOnly: boolean;
  readonly #conn: pg.PoolClient;
  readonly #state: ConnectionState;
  readonly #prefix: RoutePrefix;
  #client: TenantBoundClient | undefined;
  /** Queries sent and not yet settled; close() waits for them. */
  #pending = 0;
  #drained: (() => void) | undefined;
  #closed = false;
  #txDepth = 0;
  #beginPending = false;

  /** @internal made by the unit of work (`runUnitOfWork`). */
  constructor(tenant: Tenant, conn: pg.PoolClient, prefix: RoutePrefix) {
    this.tenant = tenant;
    this.readOnly = prefix.readOnly;
    this.#conn = conn;
    this.#state = connectionState(conn);
    this.#prefix = prefix;
  }

  /** The pg-compatible client for ORM adapters (made on first use). */
  get client(): TenantBoundClient {
    return (this.#client ??= this.#boundClient());
  }

  query<R extends pg.QueryResultRow = Row>(text: string | QueryConfig, values?: readonly unknown[]): Promise<pg.QueryResult<R>> {
    const config: QueryConfig = typeof text === 'string' ? { text, values } : values === undefined ? text : { ...text, values };
    return this.#send(config) as Promise<pg.QueryResult<R>>;
  }

  /**
   * Runs `fn` in a transaction (a savepoint when nested). `BEGIN` travels with the first
   * statement, so a transaction costs one extra round trip (its `COMMIT`). Throwing rolls back.
   */
  async transaction<T>(fn: (tx: TenantDb) => Promise<T>): Promise<T> {
    this.#assertOpen();
    if (this.#txDepth === 0) {
      if (transactionStatus(this.#conn) !== 'I') {
        throw new TenantryError(
          ErrorCodes.INVALID_ARGUMENT,
          'a transaction is already open on this unit of work (started with a raw BEGIN); finish it before calling transaction()',
        );
      }
      this.#txDepth = 1;
      this.#beginPending = true;
      try {
        const result = await fn(this);
        if (!this.#beginPending) {
          const commit = await this.#send({ text: 'commit' });
          if (commit.command === 'ROLLBACK') {
            throw new TenantryError(
              ErrorCodes.TRANSACTION_ABORTED,
              `the transaction of tenant '${this.tenant.slug}' was rolled back, not committed: a statement in it failed and the error was caught; rethrow it, or use a nested transaction() as a savepoint`,
              { context: { tenant: this.tenant.slug } },
            );
          }
        }
        return result;
      } catch (err) {
        if (!this.#beginPending && !this.#closed) await this.#send({ text: 'rollback' }).catch(() => undefined);
        throw err;
      } finally {
        this.#txDepth = 0;
        this.#beginPending = false;
      }
    }
    const name = `tenantry_sp_${this.#txDepth}`;
    await this.#send({ text: `savepoint ${name}` });
    this.#txDepth++;
    try {
      const result = await fn(this);
      await this.#send({ text: `release savepoint ${name}` });
      return result;
    } catch (err) {
      await this.#send({ text: `rollback to savepoint ${name}` }).catch(() => undefined);
      throw err;
    } finally {
      this.#txDepth--;
    }
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new TenantryError(
        ErrorCodes.UNIT_OF_WORK_CLOSED,
        `the unit of work for tenant '${this.tenant.slug}' has ended; use the handle only inside the withTenant() callback and await every query`,
        { context: { tenant: this.tenant.slug } },
      );
    }
  }

  #send(config: QueryConfig): Promise<pg.QueryResult> {
    this.#assertOpen();
    const begin = this.#beginPending;
    this.#beginPending = false;
    const conn = this.#conn;
    const state = this.#state;
    return new Promise<pg.QueryResult>((resolve, reject) => {
      const settle = (err: Error | null, res?: pg.QueryResult): void => {
        if (err === null) {
          this.#settled();
          resolve(res as pg.QueryResult);
          return;
        }
        if (!(err instanceof TenantryError) && (!isServerError(err) || classifyPgError(err).connectionLevel)) state.broken = true;
        this.#settled();
        reject(err);
      };
      let query: TenantQuery;
      try {
        query = new TenantQuery(config, this.#prefix, state, begin, () => transactionStatus(conn), settle);
      } catch (err) {
        // Nothing was written (a value could not be serialised): the connection is fine.
        this.#beginPending = begin;
        reject(err as Error);
        return;
      }
      this.#pending++;
      conn.query(query as never);
    });
  }

  #settled(): void {
    this.#pending--;
    if (this.#pending === 0 && this.#drained !== undefined) this.#drained();
  }

  #boundClient(): TenantBoundClient {
    const send = (config: QueryConfig): Promise<pg.QueryResult> => this.#send(config);
    const conn = this.#conn;
    const assertOpen = (): void => this.#assertOpen();
    function query(config: unknown, values?: unknown, callback?: unknown): unknown {
      if (config !== null && typeof config === 'object' && typeof (config as Submittable).submit === 'function') {
        assertOpen();
        if (transactionStatus(conn) !== 'T') {
          throw new TenantryError(
            ErrorCodes.INVALID_ARGUMENT,
            'cursors and streams run only inside a transaction of the unit of work (db.transaction()), where the tenant is already set',
          );
        }
        return conn.query(config as never);
      }
      const cb = (typeof values === 'function' ? values : callback) as QueryCallback | undefined;
      const vals = typeof values === 'function' ? undefined : (values as readonly unknown[] | undefined);
      const base: QueryConfig = typeof config === 'string' ? { text: config } : (config as QueryConfig);
      const promise = send(vals === undefined ? base : { ...base, values: vals });
      if (cb) {
        promise.then(
          (r) => cb(null, r),
          (e: Error) => cb(e),
        );
        return undefined;
      }
      return promise;
    }
    return {
      query: query as TenantBoundClient['query'],
      release: () => undefined,
      escapeIdentifier: (v: string) => conn.escapeIdentifier(v),
      escapeLiteral: (v: string) => conn.escapeLiteral(v),
    };
  }

  /**
   * Ends the unit of work: waits for queries still in flight, then makes the handle unusable.
   * @internal
   */
  close(): Promise<void> | undefined {
    if (this.#pending === 0) {
      this.#closed = true;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#drained = () => {
        this.#drained = undefined;
        this.#closed = true;
        resolve();
      };
    });
  }
}

/**
 * Makes a connection clean for the next tenant, or says it must be destroyed.
 * Called once per unit of work; costs no round trip unless the work left something behind.
 * @returns an error when the connection must be destroyed instead of pooled.
 */
export function cleanConnection(conn: pg.PoolClient, logger: Logger, tenant: Tenant): Error | undefined | Promise<Error | undefined> {
  const state = connectionState(conn);
  if (state.broken) return new Error('connection failed during the unit of work');
  if (!state.dirty && state.changed.size === 0 && transactionStatus(conn) === 'I') {
    // Session advisory locks taken where no keyword shows (a function, dynamic SQL) end with
    // the unit of work — released by the next batch on this connection, at no cost of its own,
    // or on their own once the connection has been idle for ADVISORY_RELEASE_IDLE_MS.
    releaseAdvisoryLocksSoon(conn, state);
    return undefined;
  }
  return resetConnection(conn, state, logger, tenant);
}

/**
 * How long a connection may sit idle with the session advisory locks of its last unit of work
 * before they are released by a statement of their own. Within it, the next unit of work's
 * batch carries the release (or its DISCARD ALL does it) at no cost: under load a connection
 * is used again within milliseconds, and the release then costs no round trip, where releasing
 * after one turn of the event loop cost one lone statement per unit of work whenever the pool
 * was not saturated (≈ 1 per request in the reference API at 8 concurrent requests). A lock
 * a unit of work leaves behind (taken inside a function, where no keyword shows) is thus held
 * at most this long by an idle connection; never by the next unit of work, whose batch
 * releases it before anything else runs.
 */
export const ADVISORY_RELEASE_IDLE_MS = 50;

/** Marks the connection's session advisory locks for release: by the next batch, or on their own after {@link ADVISORY_RELEASE_IDLE_MS}. */
function releaseAdvisoryLocksSoon(conn: pg.PoolClient, state: ConnectionState): void {
  state.unlockPending = true;
  // A timer of an earlier unit of work must not send the release for this one before its time.
  const generation = ++state.unlockGeneration;
  setTimeout(releaseAdvisoryLocks, ADVISORY_RELEASE_IDLE_MS, conn, state, generation).unref();
}

/**
 * Sends `pg_advisory_unlock_all()` on its own when no batch has carried it since the unit of
 * work ended: the connection sat idle (or was taken by someone who has not queried yet).
 * Queued, not awaited; a submittable, so pg returns it (no promise) and a failure reaches its
 * handleError, which destroys the connection.
 */
function releaseAdvisoryLocks(conn: pg.PoolClient, state: ConnectionState, generation: number): void {
  if (!state.unlockPending || state.broken || generation !== state.unlockGeneration) return;
  // Taken by someone already querying: their batches carry the release (only a statement sent
  // inside an explicit transaction does not — then the release waits for its end).
  const client = conn as unknown as { _activeQuery?: unknown; _queryQueue?: unknown[] };
  if (client._activeQuery != null || (client._queryQueue?.length ?? 0) > 0 || transactionStatus(conn) !== 'I') return;
  state.unlockPending = false;
  void conn.query(new AdvisoryUnlock(state) as unknown as pg.QueryConfig);
}

async function resetConnection(conn: pg.PoolClient, state: ConnectionState, logger: Logger, tenant: Tenant): Promise<Error | undefined> {
  try {
    const status = transactionStatus(conn);
    if (status === 'T' || status === 'E') {
      logger.warn({ tenant: tenant.id }, 'unit of work ended inside an open transaction; it was rolled back');
      await conn.query('rollback');
    }
    if (state.dirty || state.changed.size > 0) {
      // Session state was seen (SET, temp tables, cursors WITH HOLD, LISTEN, PREPARE, a reported
      // setting…): reset now, so that even the same tenant's next unit of work starts clean and
      // session advisory locks are not held while the connection is idle. What was NOT seen is
      // reset when the connection changes hands (ConnectionState.resetPending).
      await conn.query('discard all');
      sessionWasReset(state);
      state.owner = undefined;
    } else {
      // Rolled back but nothing else seen: the session advisory locks still end with the unit of work.
      releaseAdvisoryLocksSoon(conn, state);
    }
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** One finished unit of work, as `onUnitOfWork` reports it. */
export interface UnitOfWorkEvent {
  readonly tenant: Tenant;
  readonly outcome: 'ok' | 'error';
  readonly readOnly: boolean;
  /** From checkout to release, in milliseconds. */
  readonly durationMs: number;
  readonly error?: unknown;
}

/**
 * The unit of work — the one place a connection is checked out for tenant data: from the pool
 * of the tenant's server (and database), chosen by its isolation strategy; `fn` runs inside the
 * tenant's context with a {@link TenantDb} whose every statement carries the tenant; when `fn`
 * settles the handle is closed, the connection cleaned (or destroyed) and released, and
 * `onUnitOfWork` told. `owner` is the Tenancy (the context says which one entered it).
 */
export async function runUnitOfWork<T>(
  d: TenancyInternals,
  owner: object,
  tenant: Tenant,
  fn: (db: TenantDb) => Promise<T>,
  options: UnitOfWorkOptions | undefined,
): Promise<T> {
  const readOnly = options?.readOnly === true;
  const strategy = d.strategyFor(tenant.isolation);
  // The plan as the cached tenant names it now: a plan change applies from the next unit of work.
  const plan = d.plans.of(tenant);
  const conn = await d.router.connect(strategy.target(tenant, readOnly), plan);
  const started = d.onUnitOfWork === undefined ? 0 : performance.now();
  const db = new TenantDb(tenant, conn, timedPrefix(strategy.routePrefix(tenant, readOnly), plan.statementTimeoutMs));
  let failure: { error: unknown } | undefined;
  try {
    return await enterContext({ tenant, owner, db }, () => {
      const result = fn(db);
      // A lazy thenable (a Drizzle query) runs when awaited: await it inside the context.
      return result instanceof Promise ? result : (async () => await result)();
    });
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    const closing = db.close();
    if (closing !== undefined) await closing;
    const cleaned = cleanConnection(conn, d.logger, tenant);
    d.router.release(conn, cleaned instanceof Promise ? await cleaned : cleaned);
    if (d.onUnitOfWork !== undefined) {
      const durationMs = performance.now() - started;
      try {
        d.onUnitOfWork(
          failure
            ? { tenant, outcome: 'error', readOnly, durationMs, error: failure.error }
            : { tenant, outcome: 'ok', readOnly, durationMs },
        );
      } catch (err) {
        d.logger.warn({ err }, 'onUnitOfWork threw; ignored');
      }
    }
  }
}
