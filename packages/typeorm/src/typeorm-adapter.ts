import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryRunner, Repository } from 'typeorm';
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
import { checkOutClient, currentUnitOfWork, markManagedHandle } from '@tenantry/core/adapter';
import type { Tenant } from '@tenantry/core';
import { TenantKeyedResultCache } from './typeorm-result-cache.js';

/** The tenant of each connection handed to a query runner: what the result cache is keyed by. */
const connectionTenants = new WeakMap<object, Tenant>();

/** The parts of TypeORM's PostgresDriver the adapter takes over. */
interface PostgresDriverInternals {
  version?: string;
  isGeneratedColumnsSupported: boolean;
  obtainMasterConnection(): Promise<[OrmClient, (err?: unknown) => void]>;
  obtainSlaveConnection(): Promise<[OrmClient, (err?: unknown) => void]>;
  disconnect(): Promise<void>;
  createQueryRunner(mode: 'master' | 'slave'): QueryRunner;
}

/** What the adapter needs of a `Tenancy`: units of work, and the registry server's version. */
export interface TypeormTenancyHost extends UnitOfWorkProvider {
  adminPool(): { query(text: string): Promise<{ rows: Record<string, unknown>[] }> };
}

/** Options of {@link typeormTenancy}. */
export interface TypeormTenancyOptions {
  /**
   * The PostgreSQL version TypeORM writes SQL for (it uses it for a few version-dependent
   * statements). Default: asked of the registry server once, at start.
   */
  readonly serverVersion?: string;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  transactions: true,
  savepoints: true,
  migrations: 'orm',
  isolationLevels: false,
});

/**
 * TypeORM on Tenantry: one DataSource per application, holding entity metadata only. It opens
 * no pool and no connection; each of its query runners uses a unit of work — the current one
 * inside `tenancy.withTenant()`, or one of its own inside `tenancy.run()` — so every statement
 * runs in the tenant of the context, on Tenantry's bounded connections, for schema and
 * database tenants alike.
 *
 * Create it with {@link typeormTenancy}.
 */
export class TypeormAdapter implements TenancyAdapter<EntityManager> {
  readonly name = 'typeorm';
  readonly capabilities = CAPABILITIES;
  /** The application's DataSource: metadata, repositories and managers bound to the context's tenant. */
  readonly dataSource: DataSource;
  /** The pool its query runners take their connections from. */
  readonly pool: OrmPool;

  /** @internal use {@link typeormTenancy}. */
  constructor(dataSource: DataSource, pool: OrmPool) {
    this.dataSource = dataSource;
    this.pool = pool;
  }

  /**
   * An EntityManager on one unit of work's connection: every statement in its tenant, its
   * `transaction()` a transaction (or savepoint) of the unit of work.
   *
   * @example
   * ```ts
   * await tenancy.withTenant('acme', async (db) => {
   *   const em = typeorm.bind(db);
   *   await em.transaction(async (tx) => { await tx.save(Post, { title: 'Hi' }); });
   * });
   * ```
   */
  bind(db: TenantDb): EntityManager {
    const driver = this.dataSource.driver as unknown as PostgresDriverInternals;
    const runner = driver.createQueryRunner('master');
    // connect() returns an existing databaseConnection as is: the runner never touches a pool.
    const client = ormClient(db);
    connectionTenants.set(client, db.tenant);
    Object.assign(runner, { databaseConnection: client });
    const manager = this.dataSource.createEntityManager(runner);
    Object.assign(runner, { manager });
    return manager;
  }

  /**
   * The DataSource's own manager: each operation runs in the tenant of the current context
   * (joining the current unit of work, or in a unit of work of its own).
   */
  current(): EntityManager {
    return this.dataSource.manager;
  }

  /** The repository of `target` for the tenant of the current context (resolved at each call). */
  repository<E extends ObjectLiteral>(target: EntityTarget<E>): Repository<E> {
    return this.dataSource.getRepository(target);
  }
}

const adapters = adapterRegistry<TypeormAdapter>({
  orm: 'TypeORM',
  setup: 'typeormTenancy(tenancy, dataSource)',
  instead: 'adapter.current() or adapter.repository()',
});

/** Options that make a DataSource change or bypass tenant schemas, and what to do instead. */
const SCHEMA_CHANGING_OPTIONS = ['synchronize', 'migrationsRun', 'dropSchema'] as const;

/**
 * Refuses DataSource options that cannot work through Tenantry: another database type, a fixed
 * `schema`, and the options that change schemas outside Tenantry's migrations.
 *
 * @internal shared by {@link typeormTenancy} and `tenantryTypeOrm()` (`@tenantry/typeorm/nestjs`).
 */
export function refuseUnsafeOptions(opts: Record<string, unknown>, where: string): void {
  if (opts['type'] !== 'postgres') throw invalidArgument(`Tenantry needs type 'postgres' in ${where}, not '${String(opts['type'])}'`);
  if (opts['schema'] !== undefined) {
    throw invalidArgument(
      `remove 'schema' from ${where}: it qualifies every table with '${String(opts['schema'])}' and so bypasses the tenant; entities are written without a schema`,
    );
  }
  for (const key of SCHEMA_CHANGING_OPTIONS) {
    if (opts[key] === true)
      throw invalidArgument(
        `remove '${key}' from ${where}: tenant schemas change through Tenantry migrations (typeormMigrations()), applied to every tenant by tenancy.migrate()`,
      );
  }
}

/**
 * Prepares an application's (not initialized) TypeORM DataSource to work through Tenantry, and
 * returns the adapter. The DataSource builds its entity metadata but never connects: do not call
 * `initialize()`. Entities are written without a schema; Tenantry puts each statement in its
 * tenant. Afterwards `dataSource.manager`, `dataSource.getRepository()`, query builders and
 * `dataSource.transaction()` work in whatever tenant context they are used.
 *
 * Pitfalls: the DataSource must not set `schema` (it would qualify every table and bypass the
 * tenant); `synchronize`, `migrationsRun` and `dropSchema` are refused — tenant schemas change
 * through Tenantry migrations ({@link typeormMigrations}).
 *
 * Result cache (`cache` option, any provider): every key is prefixed with the tenant's id, so a
 * tenant is only ever answered from its own cached results, and a cached query outside a tenant
 * context throws `TENANT_REQUIRED`. The `db` provider's `query-result-cache` table is unqualified:
 * each tenant has its own, made by a tenant migration (`typeorm migration:generate` writes it when
 * `cache` is on). The provider is connected here (Redis clients too), as `initialize()` would.
 *
 * @example
 * ```ts
 * const dataSource = new DataSource({ type: 'postgres', entities: [Post] });
 * const typeorm = await typeormTenancy(tenancy, dataSource);
 * await tenancy.run('acme', () => dataSource.getRepository(Post).find());
 * ```
 */
export async function typeormTenancy(
  tenancy: TypeormTenancyHost,
  dataSource: DataSource,
  options: TypeormTenancyOptions = {},
): Promise<TypeormAdapter> {
  const opts = dataSource.options as unknown as Record<string, unknown>;
  if (dataSource.isInitialized) {
    throw invalidArgument(
      'pass a DataSource that is not initialized: Tenantry supplies its connections (an initialized DataSource holds a pool of its own); remove the initialize() call',
    );
  }
  refuseUnsafeOptions(opts, 'the DataSource options');
  const version =
    options.serverVersion ?? String((await tenancy.adminPool().query('show server_version')).rows[0]?.['server_version'] ?? '');
  const major = Number.parseInt(version, 10);
  const pool = tenantPool(tenancy);
  const driver = dataSource.driver as unknown as PostgresDriverInternals;
  driver.version = version;
  driver.isGeneratedColumnsSupported = Number.isFinite(major) && major >= 12;
  const obtain = async (): Promise<[OrmClient, (err?: unknown) => void]> => {
    // As the pool's connect(), remembering the unit of work's tenant for the result cache.
    const current = currentUnitOfWork(tenancy);
    let tenant = current?.tenant;
    const client = await checkOutClient(current, (fn) =>
      tenancy.withTenant((db) => {
        tenant = db.tenant;
        return fn(db);
      }),
    );
    if (tenant !== undefined) connectionTenants.set(client, tenant);
    return [client, () => client.release()];
  };
  driver.obtainMasterConnection = obtain;
  driver.obtainSlaveConnection = obtain;
  driver.disconnect = async () => undefined;
  await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  const cache = dataSource.queryResultCache;
  if (cache !== undefined && !(cache instanceof TenantKeyedResultCache)) {
    const keyedCache = new TenantKeyedResultCache(cache, (connection) => connectionTenants.get(connection));
    await keyedCache.connect();
    // Reads get 'slave' query runners, and the db provider stores a slave runner's result through
    // a second, master runner: a second unit of work (and, on a full pool, a deadlock). Both modes
    // reach the same unit of work here, so reads are labelled master and the result is stored on
    // the runner that read it, in its tenant.
    Object.assign(dataSource, { queryResultCache: keyedCache, defaultReplicationModeForReads: () => 'master' });
  }
  Object.assign(dataSource, { isInitialized: true });
  markManagedHandle(dataSource, 'typeorm');
  const adapter = new TypeormAdapter(dataSource, pool);
  adapters.register(tenancy, adapter);
  return adapter;
}

/**
 * The EntityManager for the tenant of the current context (`tenancy.run()`,
 * `tenancy.withTenant()`, or Tenantry's NestJS middleware). It resolves the tenant at each
 * operation, so it may be kept (e.g. in a NestJS singleton) and used in any request.
 *
 * @example
 * ```ts
 * await tenancy.run('acme', async () => {
 *   await tenantManager().save(Post, { title: 'Hello' });
 *   await tenantManager().transaction(async (tx) => { … });
 * });
 * ```
 */
export function tenantManager(): EntityManager {
  return adapters.forContext().current();
}

/**
 * The repository of `target` for the tenant of the current context, resolved at each call: a
 * singleton provider can return it (no request-scoped injection needed). It needs the adapter:
 * call it after `typeormTenancy()`. In NestJS, prefer `TypeOrmModule.forFeature([Post])` and
 * `@InjectRepository(Post)` with `tenantryTypeOrm()` (`@tenantry/typeorm/nestjs`); a provider
 * returning it must be ordered after the DataSource (`inject: [getDataSourceToken()]`), or it
 * fails at boot with "no TypeORM adapter".
 *
 * @example
 * ```ts
 * // NestJS: { provide: POSTS, useFactory: () => tenantRepository(Post), inject: [getDataSourceToken()] }
 * const posts = await tenantRepository(Post).findBy({ published: true });
 * ```
 */
export function tenantRepository<E extends ObjectLiteral>(target: EntityTarget<E>): Repository<E> {
  return adapters.forContext().repository(target);
}
