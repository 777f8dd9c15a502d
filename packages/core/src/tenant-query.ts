import { serialize } from 'pg-protocol';
import type pg from 'pg';
import { PgResult, prepareValue } from './pg-internals.js';
import type { Tenant } from './types.js';

/**
 * The single-Sync batch that makes every statement carry its tenant.
 *
 * One write sends, for each query:
 *
 *   [Parse/Bind/Execute  discard all — only when the connection changed hands, see below]
 *   Parse (unnamed)/Bind/Execute  select set_config('search_path', $1, true) [, role, read-only, statement_timeout]
 *   Parse/Bind/Describe/Execute  the caller's query with its bind parameters
 *   Sync
 *
 * Everything before a Sync runs in one implicit transaction, so `set_config(…, true)` applies
 * to the caller's statement and is gone at the Sync: one round trip, parameters stay
 * parameters, nothing is left on the connection. Inside an explicit `BEGIN … COMMIT` the
 * prefix is harmless (it sets the same value again).
 *
 * The plan's `statement_timeout` rides in the same prefix: PostgreSQL arms the statement timer
 * when each statement of the group starts (the prefix's own timer is stopped at its Execute),
 * with the value in force then — the one the prefix just set. So the caller's statement runs
 * under its tenant's timeout, at no extra round trip, and the setting is gone at the Sync.
 *
 * The routing statement is parsed UNNAMED in every batch. SQL can reach only named prepared
 * statements (`PREPARE`, `EXECUTE`, `DEALLOCATE`), never the unnamed one, so nothing a tenant
 * runs can replace or remove what Tenantry binds: the statement bound is always the one parsed
 * in the same write, a few bytes before.
 *
 * When the connection's session may hold another owner's state ({@link ConnectionState.resetPending}),
 * the batch starts with `DISCARD ALL`. As the FIRST statement of the group PostgreSQL runs it
 * outside any transaction block and commits it at once; the rest of the group then runs in a
 * new implicit transaction. So the reset holds whatever the caller's statement does (fails,
 * opens a transaction that is later rolled back), and if the reset itself fails, PostgreSQL
 * skips everything up to the Sync: the caller's statement never runs on an un-reset session.
 *
 * This is a pg "Submittable": `client.query(new TenantQuery(…))`. It must not have a `name`
 * property (pg would treat it as a named statement).
 */

const SYNC = serialize.sync();
const BEGIN = Buffer.concat([serialize.parse({ text: 'begin', types: [] }), serialize.bind({}), serialize.execute({})]);
/** `DISCARD ALL`: settings (custom ones too), role and session authorization, temporary objects,
 * prepared statements, cursors, LISTEN, session advisory locks, cached plans and sequence state. */
const DISCARD_ALL = Buffer.concat([serialize.parse({ text: 'discard all', types: [] }), serialize.bind({}), serialize.execute({})]);

/** Releases every session advisory lock of the connection (not transactional: it holds whatever follows). */
const UNLOCK_STATEMENT = Buffer.concat([
  serialize.parse({ text: 'select pg_catalog.pg_advisory_unlock_all()', types: [] }),
  serialize.bind({}),
  serialize.execute({}),
]);
const UNLOCK_ALL = Buffer.concat([UNLOCK_STATEMENT, SYNC]);

/** How the prefix sets the tenant. */
export interface RoutePrefix {
  /** The `search_path` value: the tenant schema, quoted, then `pg_temp` so temp tables never shadow. */
  readonly searchPath: string;
  /** The tenant's own role, switched to for the statement (`SET LOCAL ROLE`), or null. */
  readonly role: string | null;
  readonly readOnly: boolean;
  /** The tenant's plan's `statement_timeout` in milliseconds (a decimal string), or undefined for the server's. */
  readonly statementTimeout?: string | undefined;
}

/** The eight prefix statements: read-write or read-only, with or without a tenant role, with or without a statement timeout. */
export type PrefixMode = 'rw' | 'ro' | 'rwRole' | 'roRole' | 'rwTimeout' | 'roTimeout' | 'rwRoleTimeout' | 'roRoleTimeout';
const MODES: readonly PrefixMode[] = ['rw', 'ro', 'rwRole', 'roRole', 'rwTimeout', 'roTimeout', 'rwRoleTimeout', 'roRoleTimeout'];

function prefixText(mode: PrefixMode): string {
  const parts = ["pg_catalog.set_config('search_path', $1, true)"];
  const role = mode.includes('Role');
  if (role) parts.push("pg_catalog.set_config('role', $2, true)");
  if (mode.startsWith('ro')) parts.push("pg_catalog.set_config('transaction_read_only', 'on', true)");
  if (mode.endsWith('Timeout')) parts.push(`pg_catalog.set_config('statement_timeout', $${role ? 3 : 2}, true)`);
  return `select ${parts.join(', ')}`;
}

/** The prefix statement a route uses. */
export function prefixMode(prefix: RoutePrefix): PrefixMode {
  const base = prefix.role === null ? (prefix.readOnly ? 'ro' : 'rw') : prefix.readOnly ? 'roRole' : 'rwRole';
  return prefix.statementTimeout === undefined ? base : `${base}Timeout`;
}

/** The unnamed Parse of each prefix statement. */
const PREFIX_PARSE = Object.fromEntries(MODES.map((mode) => [mode, serialize.parse({ text: prefixText(mode), types: [] })])) as Record<
  PrefixMode,
  Buffer
>;

/** Each route's prefix with each statement timeout, made once (a route and a timeout give the same object). */
const timedPrefixes = new WeakMap<RoutePrefix, Map<number, RoutePrefix>>();

/**
 * A route's prefix that also sets `statement_timeout` (milliseconds) for every statement: the
 * tenant's plan's. Undefined `timeoutMs` returns the prefix itself.
 */
export function timedPrefix(prefix: RoutePrefix, timeoutMs: number | undefined): RoutePrefix {
  if (timeoutMs === undefined) return prefix;
  let byTimeout = timedPrefixes.get(prefix);
  if (byTimeout === undefined) {
    byTimeout = new Map();
    timedPrefixes.set(prefix, byTimeout);
  }
  let timed = byTimeout.get(timeoutMs);
  if (timed === undefined) {
    timed = Object.freeze({ ...prefix, statementTimeout: String(timeoutMs) });
    byTimeout.set(timeoutMs, timed);
  }
  return timed;
}

/** Who uses a connection for Tenantry's own registry and administrative work (not a tenant id). */
export const ADMIN_OWNER = '\0admin';

/** Per-connection session state Tenantry keeps beside pg's. */
export interface ConnectionState {
  /**
   * Whose session state may be on this connection: the tenant id of the last unit of work (or
   * {@link ADMIN_OWNER}); undefined when it is fresh or was reset since.
   */
  owner: string | undefined;
  /**
   * The connection changed hands since its last owner used it: `DISCARD ALL` runs before the
   * next statement — in the same batch for a tenant's statement, as a statement of its own
   * otherwise. Cleared only when a reset succeeded.
   */
  resetPending: boolean;
  /** The unit of work was seen touching session state (SET, temp tables, cursors WITH HOLD…): reset at release. */
  dirty: boolean;
  /** Reported parameters (ParameterStatus) whose value differs from the one the connection started with. */
  readonly changed: Set<string>;
  /** The connection failed at the connection level, or its reset failed: destroy it. */
  broken: boolean;
  /**
   * A unit of work ended on this connection and its session advisory locks are not released
   * yet: `pg_advisory_unlock_all()` leads the next batch, or is sent on its own if nothing
   * uses the connection for `ADVISORY_RELEASE_IDLE_MS` (unit-of-work.ts).
   */
  unlockPending: boolean;
  /** Counts the units of work that ended on this connection: a release timer acts only for the last one. */
  unlockGeneration: number;
}

/** A fresh connection's state. */
export function newConnectionState(): ConnectionState {
  return {
    owner: undefined,
    resetPending: false,
    dirty: false,
    changed: new Set(),
    broken: false,
    unlockPending: false,
    unlockGeneration: 0,
  };
}

/** Records a successful `DISCARD ALL`: the session is as it started (ParameterStatus follows on its own). */
export function sessionWasReset(state: ConnectionState): void {
  state.resetPending = false;
  state.dirty = false;
  // DISCARD ALL releases session advisory locks too.
  state.unlockPending = false;
}

/** The Bind+Execute bytes of each route's prefix; a route's bytes never change. */
const prefixBinds = new WeakMap<RoutePrefix, Buffer>();
function prefixBind(prefix: RoutePrefix): Buffer {
  let buf = prefixBinds.get(prefix);
  if (buf === undefined) {
    const values = prefix.role === null ? [prefix.searchPath] : [prefix.searchPath, prefix.role];
    if (prefix.statementTimeout !== undefined) values.push(prefix.statementTimeout);
    buf = Buffer.concat([serialize.bind({ values }), serialize.execute({})]);
    prefixBinds.set(prefix, buf);
  }
  return buf;
}

/**
 * The read-write and read-only {@link RoutePrefix} of each tenant, made once: looked up by the
 * tenant object (the registry cache hands out the same one until it changes), else by value.
 */
export class RoutePrefixes {
  readonly #searchPath: (tenant: Tenant) => string;
  readonly #byTenant = new WeakMap<Tenant, { rw: RoutePrefix; ro: RoutePrefix }>();
  readonly #byValue = new Map<string, { rw: RoutePrefix; ro: RoutePrefix }>();

  /** @param searchPath - the `search_path` value of a tenant's statements (quoted identifiers). */
  constructor(searchPath: (tenant: Tenant) => string) {
    this.#searchPath = searchPath;
  }

  get(tenant: Tenant, readOnly: boolean): RoutePrefix {
    let pair = this.#byTenant.get(tenant);
    if (pair === undefined) {
      const searchPath = this.#searchPath(tenant);
      const role = tenant.role;
      const key = `${searchPath}\0${role ?? ''}`;
      pair = this.#byValue.get(key);
      if (pair === undefined) {
        pair = { rw: Object.freeze({ searchPath, role, readOnly: false }), ro: Object.freeze({ searchPath, role, readOnly: true }) };
        if (this.#byValue.size >= 50_000) this.#byValue.clear();
        this.#byValue.set(key, pair);
      }
      this.#byTenant.set(tenant, pair);
    }
    return readOnly ? pair.ro : pair.rw;
  }
}

/** Statements that leave session state behind; the connection is reset before reuse. */
const SESSION_TAGS = new Set([
  'SET',
  'RESET',
  'DECLARE CURSOR',
  'PREPARE',
  'LISTEN',
  'LOAD',
  'DISCARD',
  'DEALLOCATE',
  'DEALLOCATE ALL',
  'SET CONSTRAINTS',
  'CLOSE CURSOR',
]);
const SESSION_TEXT = /\b(temp|temporary|pg_temp|hold|session|set_config|dblink_connect)\b|advisory_lock/i;
const SET_LOCAL_TEXT = /^\s*set\s+local\b/i;
/** Statement texts repeat: remember which ones may touch session state. */
const sessionTextCache = new Map<string, boolean>();
function touchesSession(text: string): boolean {
  let hit = sessionTextCache.get(text);
  if (hit === undefined) {
    hit = SESSION_TEXT.test(text);
    if (sessionTextCache.size >= 5_000) sessionTextCache.clear();
    if (text.length <= 4_096) sessionTextCache.set(text, hit);
  }
  return hit;
}

/** The shape of a query as pg and the ORMs pass it. */
export interface QueryConfig {
  readonly text: string;
  readonly values?: readonly unknown[] | undefined;
  readonly rowMode?: 'array' | undefined;
  readonly types?: unknown;
  readonly binary?: boolean | undefined;
}

type Callback = (err: Error | null, result?: pg.QueryResult) => void;

interface ConnectionLike {
  readonly stream: { write(buf: Buffer): boolean; cork?(): void; uncork?(): void; writable?: boolean };
  sendCopyFail(message: string): void;
  sync(): void;
}

export class TenantQuery {
  readonly text: string;
  readonly values: readonly unknown[] | undefined;
  callback: Callback | undefined;
  /** pg sets the client's type parsers on this (`_result._types`). */
  readonly _result: PgResult;
  binary = false;
  #rowError: Error | undefined;
  #mapped: unknown[] | undefined;
  readonly #prefix: RoutePrefix;
  readonly #state: ConnectionState;

  /** Statements sent before the caller's whose results are not the caller's. */
  #prelude = 0;
  readonly #begin: boolean;
  /** `DISCARD ALL` leads this batch and has not completed yet. */
  #resetting = false;
  /** The previous unit of work's advisory-lock release leads this batch and has not completed yet. */
  #unlocking = false;
  /** The statement's text suggests it touches session state: marked dirty once it has run (after any reset in its batch). */
  readonly #touchesSession: boolean;
  readonly #status: () => string | null;

  /**
   * @param begin - send `BEGIN` in the same batch (the first statement of a transaction).
   * @param status - the connection's transaction status at submit time (`I`, `T`, `E`); in a
   *   failed transaction (`E`) the prefix is left out so that `ROLLBACK` can run.
   */
  constructor(
    config: QueryConfig,
    prefix: RoutePrefix,
    state: ConnectionState,
    begin: boolean,
    status: () => string | null,
    callback: Callback,
  ) {
    this.#begin = begin;
    this.#status = status;
    this.text = config.text;
    this.values = config.values;
    this.callback = callback;
    this.#prefix = prefix;
    this.#state = state;
    this._result = new PgResult(config.rowMode, config.types);
    if (config.binary) this.binary = true;
    // Map values before anything is written: a throwing toPostgres must not wedge the client.
    if (config.values !== undefined) {
      if (!Array.isArray(config.values)) throw new TypeError('query values must be an array');
      this.#mapped = config.values.map((v) => prepareValue(v));
    }
    this.#touchesSession = touchesSession(this.text);
  }

  /** Called by pg when the query reaches the head of the client's queue. */
  submit(connection: ConnectionLike): Error | null {
    const parts: Buffer[] = [];
    const status = this.#status();
    if (this.#state.resetPending) {
      // Decided at submit time: whatever ran on the connection before this batch, it is reset first.
      if (status !== 'I') {
        this.#state.broken = true;
        return new Error(`the connection must be reset before its next statement but is inside a transaction (status ${status ?? '?'})`);
      }
      parts.push(DISCARD_ALL);
      this.#resetting = true;
      this.#prelude++;
      // DISCARD ALL releases the advisory locks too (and if it fails, the connection is destroyed).
      this.#state.unlockPending = false;
    } else if (this.#state.unlockPending && status === 'I') {
      // The previous unit of work's session advisory locks, released before anything of this one.
      this.#state.unlockPending = false;
      parts.push(UNLOCK_STATEMENT);
      this.#unlocking = true;
      this.#prelude++;
    }
    if (this.#begin) {
      parts.push(BEGIN);
      this.#prelude++;
    }
    if (status !== 'E') {
      // In a failed transaction nothing but ROLLBACK can run; the tenant is still set in it.
      parts.push(PREFIX_PARSE[prefixMode(this.#prefix)], prefixBind(this.#prefix));
      this.#prelude++;
    }
    parts.push(
      serialize.parse({ text: this.text, types: [] }),
      serialize.bind({ values: this.#mapped ?? [], binary: this.binary }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({}),
      SYNC,
    );
    connection.stream.write(Buffer.concat(parts));
    return null;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this._result.addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    if (this.#prelude > 0 || this.#rowError) return;
    try {
      this._result.addRow(this._result.parseRow(msg.fields));
    } catch (err) {
      this.#rowError = err as Error;
    }
  }

  handleCommandComplete(msg: { text: string }): void {
    if (this.#prelude > 0) {
      this.#prelude--;
      if (this.#resetting) {
        this.#resetting = false;
        sessionWasReset(this.#state);
      }
      this.#unlocking = false;
      return;
    }
    this._result.addCommandComplete(msg);
    const tag = this._result.command === null ? '' : msg.text.replace(/ \d+( \d+)?$/, '');
    if (SESSION_TAGS.has(tag) && !(tag === 'SET' && SET_LOCAL_TEXT.test(this.text))) this.#state.dirty = true;
  }

  handleEmptyQuery(): void {
    // An empty statement: no CommandComplete follows; ReadyForQuery ends it.
  }

  handlePortalSuspended(): void {
    // Never asked for (Execute with no row limit).
  }

  handleError(err: Error): void {
    const cb = this.callback;
    this.callback = undefined;
    if (this.#resetting || this.#unlocking) {
      // The reset (or the lock release) failed: PostgreSQL skipped the rest of the batch. Never reuse the connection.
      this.#state.broken = true;
      (err as Error & { tenantryResetFailed?: boolean }).tenantryResetFailed = true;
    }
    if (this.#prelude > 0) (err as Error & { tenantryPrefixFailed?: boolean }).tenantryPrefixFailed = true;
    if (this.#touchesSession) this.#state.dirty = true;
    cb?.(this.#rowError ?? err);
  }

  handleReadyForQuery(): void {
    const cb = this.callback;
    this.callback = undefined;
    if (this.#touchesSession) this.#state.dirty = true;
    if (this.#rowError) cb?.(this.#rowError);
    else cb?.(null, this._result as unknown as pg.QueryResult);
  }

  handleCopyInResponse(connection: ConnectionLike): void {
    connection.sendCopyFail('COPY FROM STDIN is not supported through a tenant handle');
    // The Sync sent with the batch was ignored in copy-in mode; the error needs another.
    connection.sync();
  }

  handleCopyData(): void {
    // COPY TO STDOUT data is not collected.
  }
}

/**
 * `DISCARD ALL` as a statement of its own, queued on a pg client ahead of a query that is not a
 * {@link TenantQuery} (registry, administrative and migration work, which use the client
 * directly). If it fails, the socket is destroyed so that the query queued behind it fails
 * too instead of running on the un-reset session.
 */
export class SessionReset {
  readonly #state: ConnectionState;
  #failed = false;

  constructor(state: ConnectionState) {
    this.#state = state;
  }

  submit(connection: ConnectionLike): Error | null {
    connection.stream.write(Buffer.concat([DISCARD_ALL, SYNC]));
    return null;
  }

  handleCommandComplete(): void {
    if (!this.#failed) sessionWasReset(this.#state);
  }

  handleError(err: Error, connection?: { stream?: { destroy?(err?: Error): void } }): void {
    this.#failed = true;
    this.#state.broken = true;
    this.#state.resetPending = true;
    const wrapped = new Error(`resetting the connection's session failed: ${err.message}`, { cause: err });
    connection?.stream?.destroy?.(wrapped);
  }

  handleReadyForQuery(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/**
 * `pg_advisory_unlock_all()` as a statement of its own: a session-level advisory lock the
 * tenant's SQL took (inside a function, a `DO` block, under any name) is not held once the unit
 * of work is over. Usually the next batch on the connection carries the release in front of its
 * own statements ({@link ConnectionState.unlockPending}); this is sent instead when the
 * connection stays idle for `ADVISORY_RELEASE_IDLE_MS` (unit-of-work.ts), or before a query that is not a
 * {@link TenantQuery}. If it fails, the socket is destroyed, so nothing runs on a session that
 * may still hold a lock.
 */
export class AdvisoryUnlock {
  readonly #state: ConnectionState;

  constructor(state: ConnectionState) {
    this.#state = state;
  }

  submit(connection: ConnectionLike): Error | null {
    connection.stream.write(UNLOCK_ALL);
    return null;
  }

  handleError(err: Error, connection?: { stream?: { destroy?(err?: Error): void } }): void {
    this.#state.broken = true;
    connection?.stream?.destroy?.(new Error(`releasing the unit of work's advisory locks failed: ${err.message}`, { cause: err }));
  }

  handleCommandComplete(): void {}
  handleReadyForQuery(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}
