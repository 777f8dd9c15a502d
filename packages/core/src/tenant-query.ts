import { serialize } from 'pg-protocol';
import type pg from 'pg';
import { PgResult, prepareValue } from './pg-internals.js';
import type { Tenant } from './types.js';

/**
 * The single-Sync batch that makes every statement carry its tenant.
 *
 * One write sends, for each query:
 *
 *   [Parse "tenantry_route" — once per connection]
 *   Bind/Execute  tenantry_route($1 = search_path [, $2 = 'on' for read-only])
 *   Parse/Bind/Describe/Execute  the caller's query with its bind parameters
 *   Sync
 *
 * Everything before a Sync runs in one implicit transaction, so `set_config(…, true)` applies
 * to the caller's statement and is gone at the Sync: one round trip, parameters stay
 * parameters, nothing is left on the connection. Inside an explicit `BEGIN … COMMIT` the
 * prefix is harmless (it sets the same value again).
 *
 * This is a pg "Submittable": `client.query(new TenantQuery(…))`. It must not have a `name`
 * property (pg would treat it as a named statement).
 */

const SYNC = serialize.sync();
const BEGIN = Buffer.concat([serialize.parse({ text: 'begin', types: [] }), serialize.bind({}), serialize.execute({})]);

/** How the prefix sets the tenant. */
export interface RoutePrefix {
  /** The `search_path` value: the tenant schema, quoted, then `pg_temp` so temp tables never shadow. */
  readonly searchPath: string;
  /** The tenant's own role, switched to for the statement (`SET LOCAL ROLE`), or null. */
  readonly role: string | null;
  readonly readOnly: boolean;
}

/** The four prefix statements: read-write or read-only, with or without a tenant role. */
export type PrefixMode = 'rw' | 'ro' | 'rwRole' | 'roRole';
const MODES: readonly PrefixMode[] = ['rw', 'ro', 'rwRole', 'roRole'];

function prefixText(mode: PrefixMode): string {
  const parts = ["pg_catalog.set_config('search_path', $1, true)"];
  if (mode === 'rwRole' || mode === 'roRole') parts.push("pg_catalog.set_config('role', $2, true)");
  if (mode === 'ro' || mode === 'roRole') parts.push("pg_catalog.set_config('transaction_read_only', 'on', true)");
  return `select ${parts.join(', ')}`;
}

/** The prefix statement a route uses. */
export function prefixMode(prefix: RoutePrefix): PrefixMode {
  return prefix.role === null ? (prefix.readOnly ? 'ro' : 'rw') : prefix.readOnly ? 'roRole' : 'rwRole';
}

const PREFIX = Object.fromEntries(
  MODES.map((mode) => {
    const text = prefixText(mode);
    const name = `tenantry_route_${mode}`;
    return [mode, { name, parse: serialize.parse({ name, text, types: [] }), parseUnnamed: serialize.parse({ text, types: [] }) }];
  }),
) as Record<PrefixMode, { name: string; parse: Buffer; parseUnnamed: Buffer }>;

/** Per-connection protocol state Tenantry keeps beside pg's. */
export interface ConnectionState {
  /** Which prefix statements are prepared on this backend. */
  readonly prepared: Record<PrefixMode, boolean>;
  /** Session state was touched (SET, temp tables, cursors WITH HOLD…): reset before reuse. */
  dirty: boolean;
  /** The connection failed at the connection level: destroy it. */
  broken: boolean;
}

/** A fresh connection's state. */
export function newConnectionState(): ConnectionState {
  return { prepared: { rw: false, ro: false, rwRole: false, roRole: false }, dirty: false, broken: false };
}

/** The Bind+Execute bytes of each route's prefix, named and unnamed; a route's bytes never change. */
const namedBinds = new WeakMap<RoutePrefix, Buffer>();
const unnamedBinds = new WeakMap<RoutePrefix, Buffer>();
function prefixBind(prefix: RoutePrefix, named: boolean): Buffer {
  const cache = named ? namedBinds : unnamedBinds;
  let buf = cache.get(prefix);
  if (buf === undefined) {
    const mode = prefixMode(prefix);
    buf = Buffer.concat([
      serialize.bind({
        statement: named ? PREFIX[mode].name : '',
        values: prefix.role === null ? [prefix.searchPath] : [prefix.searchPath, prefix.role],
      }),
      serialize.execute({}),
    ]);
    cache.set(prefix, buf);
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

  /** @param searchPath the `search_path` value of a tenant's statements (quoted identifiers). */
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
  readonly #prepare: boolean;

  /** Statements sent before the caller's whose results are not the caller's. */
  #prelude = 0;
  readonly #begin: boolean;
  #sentParse = false;
  readonly #status: () => string | null;

  /**
   * @param begin send `BEGIN` in the same batch (the first statement of a transaction).
   * @param status the connection's transaction status at submit time (`I`, `T`, `E`); in a
   *   failed transaction (`E`) the prefix is left out so that `ROLLBACK` can run.
   */
  constructor(
    config: QueryConfig,
    prefix: RoutePrefix,
    state: ConnectionState,
    preparePrefix: boolean,
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
    this.#prepare = preparePrefix;
    this._result = new PgResult(config.rowMode, config.types);
    if (config.binary) this.binary = true;
    // Map values before anything is written: a throwing toPostgres must not wedge the client.
    if (config.values !== undefined) {
      if (!Array.isArray(config.values)) throw new TypeError('query values must be an array');
      this.#mapped = config.values.map((v) => prepareValue(v));
    }
    if (touchesSession(this.text)) state.dirty = true;
  }

  /** Called by pg when the query reaches the head of the client's queue. */
  submit(connection: ConnectionLike): Error | null {
    const mode = prefixMode(this.#prefix);
    const parts: Buffer[] = [];
    if (this.#begin) {
      parts.push(BEGIN);
      this.#prelude++;
    }
    if (this.#status() === 'E') {
      // Nothing but ROLLBACK can run in a failed transaction; the tenant is still set in it.
    } else if (this.#prepare) {
      this.#prelude++;
      if (!this.#state.prepared[mode]) {
        parts.push(PREFIX[mode].parse);
        this.#sentParse = true;
      }
      parts.push(prefixBind(this.#prefix, true));
    } else {
      this.#prelude++;
      parts.push(PREFIX[mode].parseUnnamed, prefixBind(this.#prefix, false));
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
      if (this.#prelude === 0 && this.#sentParse) this.#state.prepared[prefixMode(this.#prefix)] = true;
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
    if (this.#prelude > 0) (err as Error & { tenantryPrefixFailed?: boolean }).tenantryPrefixFailed = true;
    cb?.(this.#rowError ?? err);
  }

  handleReadyForQuery(): void {
    const cb = this.callback;
    this.callback = undefined;
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
