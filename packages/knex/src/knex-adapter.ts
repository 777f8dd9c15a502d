import knex, { type Knex } from 'knex';
import { invalidArgument, type TenantDb } from '@tenantry/core';
import {
  adapterRegistry,
  ormClient,
  tenantPool,
  type AdapterCapabilities,
  type OrmClient,
  type OrmPool,
  type TenancyAdapter,
  type UnitOfWorkProvider,
} from '@tenantry/core/adapter';

/**
 * Knex's options that {@link knexTenancy} takes: everything but what says where connections come
 * from (`client`, `connection`, `connectionPool`, `pool`) or bypasses the tenant (`searchPath`).
 */
export type KnexTenancyOptions = Omit<
  Knex.Config,
  'client' | 'dialect' | 'connection' | 'connectionPool' | 'pool' | 'searchPath' | 'acquireConnectionTimeout'
>;

/** Where a Tenantry Knex client takes its connections; carried in the Knex config. */
export interface ConnectionSource {
  acquire(): Promise<OrmClient>;
}

/** The key of the {@link ConnectionSource} in a Knex client's config. */
export const CONNECTIONS = 'tenantryConnections';

type ClientClass = typeof Knex.Client;

let pgClientClass: ClientClass | undefined;

/**
 * Knex's own PostgreSQL client class. Taken from a throwaway instance (it opens nothing without a
 * `connection`), so that no internal Knex path is imported.
 */
export function knexPgClient(): ClientClass {
  return (pgClientClass ??= Object.getPrototypeOf(knex({ client: 'pg' }).client).constructor as ClientClass);
}

let tenantClientClass: ClientClass | undefined;

/**
 * Knex's PostgreSQL client, minus its pool: `acquireConnection()` asks the
 * {@link ConnectionSource} in the config (a Tenantry unit of work's client), and
 * `releaseConnection()` releases it. Nothing else changes — SQL, bindings, transactions and
 * savepoints are Knex's, sent through the unit of work.
 */
function tenantClient(): ClientClass {
  if (tenantClientClass === undefined) {
    const Base = knexPgClient();
    class TenantryPgClient extends Base {
      override acquireConnection(): Promise<OrmClient> {
        const source = (this.config as Record<string, unknown>)[CONNECTIONS] as ConnectionSource;
        return source.acquire();
      }

      override releaseConnection(connection: OrmClient): Promise<void> {
        connection.release();
        return Promise.resolve();
      }

      override destroy(callback?: (err?: Error) => void): Promise<void> {
        // Tenantry's router owns the connections: close the tenancy instead.
        callback?.();
        return Promise.resolve();
      }
    }
    tenantClientClass = TenantryPgClient;
  }
  return tenantClientClass;
}

const FORBIDDEN = ['client', 'dialect', 'connection', 'connectionPool', 'pool', 'searchPath'] as const;

function checkOptions(options: KnexTenancyOptions): void {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('knexTenancy(tenancy, options?) takes Knex options such as { postProcessResponse }');
  for (const key of FORBIDDEN) {
    if (key in options) {
      throw invalidArgument(
        key === 'searchPath'
          ? "knexTenancy() takes no 'searchPath': Tenantry sets the tenant's search_path on every statement"
          : `knexTenancy() takes no '${key}': Tenantry supplies the connections, within each server's budget`,
      );
    }
  }
}

/** A Knex instance whose connections come from `source`. */
export function knexOver(options: KnexTenancyOptions, source: ConnectionSource): Knex {
  return knex({ ...options, client: tenantClient(), [CONNECTIONS]: source } as Knex.Config);
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  transactions: true,
  savepoints: true,
  migrations: 'orm',
  isolationLevels: false,
});

/**
 * Knex on Tenantry. {@link KnexAdapter.knex} is one Knex instance for the whole application:
 * each query acquires the unit of work of the current tenant context — the current one, or
 * (inside `tenancy.run()`) one of its own, released when the query ends — and
 * `knex.transaction()` holds one unit of work for the whole transaction. It opens no pool and no
 * connection: Tenantry's router owns them, within each server's budget, for schema and database
 * tenants alike.
 *
 * Create it with {@link knexTenancy}.
 */
export class KnexAdapter implements TenancyAdapter<Knex> {
  readonly name = 'knex';
  readonly capabilities = CAPABILITIES;
  /** The application's Knex, bound to the tenant of whatever context it is used in. */
  readonly knex: Knex;
  /** The pool {@link knex} takes its connections from. */
  readonly pool: OrmPool;
  readonly #options: KnexTenancyOptions;
  readonly #bound = new WeakMap<TenantDb, Knex>();

  /** @internal use {@link knexTenancy}. */
  constructor(pool: OrmPool, options: KnexTenancyOptions) {
    this.pool = pool;
    this.#options = options;
    this.knex = knexOver(options, { acquire: () => pool.connect() });
  }

  /**
   * A Knex instance on one unit of work's connection (made once per unit of work): every query in
   * its tenant, `transaction()` a transaction — or a savepoint — of the unit of work.
   *
   * @example
   * ```ts
   * await tenancy.withTenant('acme', async (db) => {
   *   const k = adapter.bind(db);
   *   await k.transaction(async (trx) => { await trx('users').insert({ name: 'Ada' }); });
   * });
   * ```
   */
  bind(db: TenantDb): Knex {
    let bound = this.#bound.get(db);
    if (bound === undefined) {
      const client = ormClient(db); // release() is a no-op: the unit of work owns the connection
      bound = knexOver(this.#options, { acquire: () => Promise.resolve(client) });
      this.#bound.set(db, bound);
    }
    return bound;
  }

  /** {@link knex}: queries in the tenant of the current context. */
  current(): Knex {
    return this.knex;
  }
}

const adapters = adapterRegistry<KnexAdapter>({ orm: 'Knex', setup: 'knexTenancy(tenancy)', instead: 'adapter.knex' });

/**
 * Sets Knex up on a tenancy, once at start. Table names are written without a schema (no
 * `withSchema()`): Tenantry puts each statement in its tenant.
 *
 * Pitfall: Knex's `connection`, `pool`, `connectionPool` and `searchPath` are refused — a Knex
 * with its own pool per tenant is exactly what Tenantry replaces (`knex.destroy()` is a no-op;
 * close the tenancy).
 *
 * @example
 * ```ts
 * const { knex } = knexTenancy(tenancy);
 * await tenancy.run('acme', () => knex('users').where({ active: true }));
 * ```
 */
export function knexTenancy(tenancy: UnitOfWorkProvider, options: KnexTenancyOptions = {}): KnexAdapter {
  checkOptions(options);
  const adapter = new KnexAdapter(tenantPool(tenancy), Object.freeze({ ...options }));
  adapters.register(tenancy, adapter);
  return adapter;
}

/**
 * The Knex instance for the tenant of the current context (`tenancy.run()`,
 * `tenancy.withTenant()`, or Tenantry's NestJS middleware): the adapter's {@link KnexAdapter.knex}.
 * It resolves the tenant at each query, so it may be kept — a NestJS singleton provider
 * (`{ provide: KNEX, useFactory: () => tenantKnex() }`) needs no request scope.
 *
 * @example
 * ```ts
 * await tenancy.run('acme', async () => {
 *   await tenantKnex()('users').insert({ name: 'Ada' });
 *   await tenantKnex().transaction(async (trx) => { … });
 * });
 * ```
 */
export function tenantKnex(): Knex {
  return adapters.forContext().knex;
}
