import {
  Kysely,
  PostgresDialect,
  type AbortableOperationOptions,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type KyselyPlugin,
  type LogConfig,
  type PostgresCursorConstructor,
  type PostgresPool,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { ErrorCodes, invalidArgument, TenantryError, type TenantDb } from '@tenantry/core';
import {
  adapterRegistry,
  ormClient,
  tenantPool,
  type AdapterCapabilities,
  type OrmPool,
  type TenancyAdapter,
  type UnitOfWorkProvider,
} from '@tenantry/core/adapter';

/**
 * Options of {@link kyselyTenancy}: Kysely's own `plugins` and `log`, and the PostgreSQL dialect's
 * `cursor` (pg-cursor's class, for `.stream()`). Nothing that says where connections come from.
 */
export interface KyselyTenancyOptions {
  /** Kysely plugins (`CamelCasePlugin`, `ParseJSONResultsPlugin`…), as `new Kysely({ plugins })` takes them. */
  readonly plugins?: KyselyPlugin[];
  /** Kysely's query log: levels (`['query', 'error']`) or a function. */
  readonly log?: LogConfig;
  /** pg-cursor's `Cursor` class, for `query.stream()`: `import Cursor from 'pg-cursor'`. */
  readonly cursor?: PostgresCursorConstructor;
}

const ALLOWED = new Set(['plugins', 'log', 'cursor']);

function checkOptions(options: KyselyTenancyOptions): void {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('kyselyTenancy(tenancy, options?) takes Kysely options such as { plugins: [new CamelCasePlugin()] }');
  for (const key of Object.keys(options)) {
    if (ALLOWED.has(key)) continue;
    if (key === 'dialect' || key === 'pool' || key === 'controlClient')
      throw invalidArgument(
        `kyselyTenancy() takes no '${key}': Tenantry supplies the dialect and its connections, within each server's budget`,
      );
    if (key === 'onCreateConnection' || key === 'onReserveConnection')
      throw invalidArgument(
        `kyselyTenancy() takes no '${key}': a connection's session belongs to Tenantry, which sets the tenant on every statement`,
      );
    throw invalidArgument(`kyselyTenancy() takes no '${key}': its options are plugins, log and cursor`);
  }
}

/** Kysely's way to tell "the database rolled back instead of committing" (`isAbortedTransactionError`). */
const KYSELY_ABORTED = Symbol.for('kysely.AbortedTransactionError');

/**
 * A connection of Kysely's PostgreSQL driver minus in-flight query abortion (`cancelQuery`,
 * `killSession`): Kysely would cancel or terminate a backend by its pid, from another
 * connection, and a connection of Tenantry's router serves other tenants as soon as the query
 * ends — so the `'cancel query'` and `'kill session'` strategies are refused by Kysely itself
 * ("This dialect doesn't support…"); an abort signal with `'ignore query'` works.
 */
class TenantConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;

  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }

  executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortableOperationOptions): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(compiledQuery, options);
  }

  streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number,
    options?: AbortableOperationOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiledQuery, chunkSize, options);
  }
}

/**
 * Kysely's own PostgreSQL driver (over Tenantry's pool), with two changes: connections lose
 * in-flight abortion (see {@link TenantConnection}), and a `COMMIT` Tenantry refuses because an
 * earlier statement failed (`TRANSACTION_ABORTED`) is marked as Kysely's aborted transaction, so
 * Kysely neither sends a second `ROLLBACK` nor keeps the connection of a controlled transaction.
 */
class TenantDriver implements Driver {
  readonly #inner: Driver;
  readonly #wrapped = new WeakMap<DatabaseConnection, TenantConnection>();

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(options?: AbortableOperationOptions): Promise<void> {
    return this.#inner.init(options);
  }

  async acquireConnection(options?: AbortableOperationOptions): Promise<DatabaseConnection> {
    const inner = await this.#inner.acquireConnection(options);
    let connection = this.#wrapped.get(inner);
    if (connection === undefined) {
      connection = new TenantConnection(inner);
      this.#wrapped.set(inner, connection);
    }
    return connection;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#inner.beginTransaction(unwrap(connection), settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#inner.commitTransaction(unwrap(connection));
    } catch (err) {
      if (err instanceof TenantryError && err.code === ErrorCodes.TRANSACTION_ABORTED && !(KYSELY_ABORTED in err))
        Object.defineProperty(err, KYSELY_ABORTED, { value: true });
      throw err;
    }
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(unwrap(connection));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.savepoint!(unwrap(connection), name, compile);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.rollbackToSavepoint!(unwrap(connection), name, compile);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.releaseSavepoint!(unwrap(connection), name, compile);
  }

  releaseConnection(connection: DatabaseConnection, options?: AbortableOperationOptions): Promise<void> {
    return this.#inner.releaseConnection(unwrap(connection), options);
  }

  async destroy(): Promise<void> {
    // Tenantry's router owns the connections: close the tenancy instead. (Kysely itself
    // refuses every later query of a destroyed instance.)
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TenantConnection ? connection.inner : connection;
}

/** Kysely's `PostgresDialect` whose driver is {@link TenantDriver}. */
class TenantPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new TenantDriver(super.createDriver());
  }
}

/** A Kysely instance whose connections are `pool`'s. */
function kyselyOver<DB>(options: KyselyTenancyOptions, pool: PostgresPool): Kysely<DB> {
  const { cursor, ...config } = options;
  return new Kysely<DB>({ ...config, dialect: new TenantPostgresDialect(cursor === undefined ? { pool } : { pool, cursor }) });
}

/** The pool of one unit of work: its client every time; `release()` is a no-op (the unit of work owns the connection). */
function boundPool(db: TenantDb): PostgresPool {
  const client = ormClient(db);
  return { connect: () => Promise.resolve(client), end: () => Promise.resolve() } as unknown as PostgresPool;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  transactions: true,
  savepoints: true,
  migrations: 'orm',
  isolationLevels: false,
});

/**
 * Kysely on Tenantry. {@link KyselyAdapter.db} is one Kysely instance for the whole
 * application, built on Kysely's own `PostgresDialect` over Tenantry's `tenantPool`: each query
 * runs in the tenant of the current context — joining the current unit of work inside
 * `tenancy.withTenant()`, in one of its own inside `tenancy.run()` — and `db.transaction()` or
 * `db.startTransaction()` holds one unit of work for the whole transaction. It opens no pool and
 * no connection: Tenantry's router owns them, within each server's budget, for schema and
 * database tenants alike.
 *
 * Create it with {@link kyselyTenancy}.
 */
export class KyselyAdapter<DB = unknown> implements TenancyAdapter<Kysely<DB>> {
  readonly name = 'kysely';
  readonly capabilities = CAPABILITIES;
  /** The application's Kysely, bound to the tenant of whatever context it is used in. */
  readonly db: Kysely<DB>;
  /** The pool {@link db} takes its connections from. */
  readonly pool: OrmPool;
  readonly #options: KyselyTenancyOptions;
  readonly #bound = new WeakMap<TenantDb, Kysely<DB>>();

  /** @internal use {@link kyselyTenancy}. */
  constructor(pool: OrmPool, options: KyselyTenancyOptions) {
    this.pool = pool;
    this.#options = options;
    this.db = kyselyOver<DB>(options, pool as unknown as PostgresPool);
  }

  /**
   * A Kysely instance on one unit of work's connection (made once per unit of work): every
   * query in its tenant, `transaction()` a transaction — or, inside the unit of work's own
   * `db.transaction()`, a savepoint — of the unit of work.
   *
   * @example
   * ```ts
   * await tenancy.withTenant('acme', async (uow) => {
   *   const db = adapter.bind(uow);
   *   await db.transaction().execute(async (trx) => { await trx.insertInto('posts').values({ title: 'Hi' }).execute(); });
   * });
   * ```
   */
  bind(db: TenantDb): Kysely<DB> {
    let bound = this.#bound.get(db);
    if (bound === undefined) {
      bound = kyselyOver<DB>(this.#options, boundPool(db));
      this.#bound.set(db, bound);
    }
    return bound;
  }

  /** {@link db}: queries in the tenant of the current context. */
  current(): Kysely<DB> {
    return this.db;
  }
}

const adapters = adapterRegistry<KyselyAdapter>({ orm: 'Kysely', setup: 'kyselyTenancy(tenancy)', instead: 'adapter.db' });

/**
 * Sets Kysely up on a tenancy, once at start. Table names are written without a schema (no
 * `withSchema()`): Tenantry puts each statement in its tenant.
 *
 * Pitfall: Kysely's `dialect`, `pool`, `onCreateConnection` and `onReserveConnection` are refused
 * (`INVALID_ARGUMENT`) — a Kysely with its own pool is what Tenantry replaces. `db.destroy()` closes
 * no connection (Tenantry's router owns them: close the tenancy) but, as in Kysely, ends that
 * instance: do not call it on the application's `db` before shutdown.
 *
 * @example
 * ```ts
 * interface Database { posts: { id: Generated<string>; title: string; published: boolean } }
 * const { db } = kyselyTenancy<Database>(tenancy);
 * await tenancy.run('acme', () => db.selectFrom('posts').selectAll().where('published', '=', true).execute());
 * ```
 */
export function kyselyTenancy<DB = unknown>(tenancy: UnitOfWorkProvider, options: KyselyTenancyOptions = {}): KyselyAdapter<DB> {
  checkOptions(options);
  const adapter = new KyselyAdapter<DB>(tenantPool(tenancy), Object.freeze({ ...options }));
  adapters.register(tenancy, adapter as KyselyAdapter);
  return adapter;
}

/**
 * The Kysely instance for the tenant of the current context (`tenancy.run()`,
 * `tenancy.withTenant()`, or Tenantry's NestJS middleware): the adapter's {@link KyselyAdapter.db}.
 * It resolves the tenant at each query, so it may be kept — in a NestJS singleton, say.
 *
 * @example
 * ```ts
 * await tenancy.run('acme', () => tenantKysely<Database>().selectFrom('posts').selectAll().execute());
 * ```
 */
export function tenantKysely<DB = unknown>(): Kysely<DB> {
  return adapters.forContext().db as Kysely<DB>;
}
