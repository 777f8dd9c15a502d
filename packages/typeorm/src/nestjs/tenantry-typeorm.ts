import { DataSource, type DataSourceOptions } from 'typeorm';
import type { TypeOrmModuleAsyncOptions, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { invalidArgument } from '@tenantry/core';
import { OUTSIDE_TENANCY } from '@tenantry/core/adapter';
import { TENANCY } from '@tenantry/nestjs';
import { refuseUnsafeOptions, typeormTenancy, type TypeormTenancyHost } from '../typeorm-adapter.js';

/**
 * `@nestjs/typeorm` on Tenantry. `TypeOrmModule.forRootAsync()` takes what
 * {@link tenantryTypeOrm} returns: its options factory is ordered after `TenancyModule`
 * (`inject: [TENANCY]`), and its `dataSourceFactory` hands TypeORM the DataSource that
 * `typeormTenancy()` prepared. That DataSource reports `isInitialized`, so `@nestjs/typeorm`
 * never calls `initialize()`: no pool of TypeORM's own, every query runner on a unit of work of
 * the request's tenant. `forFeature`, `@InjectRepository`, `@InjectDataSource`,
 * `@InjectEntityManager`, `autoLoadEntities`, named data sources and the shutdown `destroy()`
 * are `@nestjs/typeorm`'s own.
 */

type PostgresOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/** Options that would open connections of TypeORM's own: Tenantry supplies them (TenancyModule's `registryUrl`, its servers). */
const CONNECTION_OPTIONS = ['url', 'host', 'port', 'username', 'password', 'database', 'ssl', 'replication', 'poolSize', 'extra'] as const;

/** Options that change or bypass tenant schemas: refused, tenant schemas change through Tenantry migrations. */
type RefusedOptions =
  'type' | 'schema' | 'synchronize' | 'migrationsRun' | 'dropSchema' | 'migrations' | (typeof CONNECTION_OPTIONS)[number];

/**
 * The DataSource options {@link tenantryTypeOrm} takes: TypeORM's PostgreSQL options without
 * connection settings (Tenantry supplies the connections), without `schema` (Tenantry sets the
 * tenant on every statement), without `synchronize`, `migrationsRun`, `dropSchema` and
 * `migrations` (tenant schemas change through `typeormMigrations()`), plus `@nestjs/typeorm`'s
 * `name`, `autoLoadEntities` and retry options.
 */
export type TenantryTypeOrmOptions = Omit<PostgresOptions, RefusedOptions> &
  Pick<TypeOrmModuleOptions, 'name' | 'autoLoadEntities' | 'retryAttempts' | 'retryDelay' | 'toRetry' | 'verboseRetryLog'> & {
    /** Accepted for copies of existing options; the only type Tenantry serves. */
    readonly type?: 'postgres';
  };

/** {@link tenantryTypeOrm}'s options computed from other providers (e.g. `ConfigService`). */
export interface TenantryTypeOrmAsyncOptions {
  /** `@nestjs/typeorm`'s data source name; give the same one to `forFeature()` and `@InjectRepository()`. */
  readonly name?: string;
  readonly imports?: TypeOrmModuleAsyncOptions['imports'];
  /** Providers passed to `useFactory`, after nothing: the tenancy is injected by Tenantry itself. */
  readonly inject?: readonly unknown[];
  readonly useFactory: (...args: never[]) => TenantryTypeOrmOptions | Promise<TenantryTypeOrmOptions>;
}

/** What {@link tenantryTypeOrm} returns: `TypeOrmModule.forRootAsync()`'s options, with `inject` and `dataSourceFactory` filled in. */
export type TenantryTypeOrmModuleOptions = TypeOrmModuleAsyncOptions &
  Required<Pick<TypeOrmModuleAsyncOptions, 'inject' | 'useFactory' | 'dataSourceFactory'>>;

/** Where the options factory leaves the tenancy for the DataSource factory (copied by `@nestjs/typeorm`'s spread). */
const TENANCY_OF_OPTIONS = Symbol('tenantry:typeorm:tenancy');

/**
 * Options for `TypeOrmModule.forRootAsync()` that make `@nestjs/typeorm` work per tenant, on
 * Tenantry's connections, with no `Scope.REQUEST`. Keep `TypeOrmModule.forFeature([...])`,
 * `@InjectRepository()`, `@InjectDataSource()`, `@InjectEntityManager()` and
 * `dataSource.transaction()` as you write them: each statement runs in the tenant of the request
 * (or of `tenancy.run()`), for schema and database tenants alike.
 *
 * Refused with `INVALID_ARGUMENT` when called (so when the module file is loaded): connection
 * options (`url`, `host`, …, `extra`), `schema`, `synchronize`, `migrationsRun`, `dropSchema`,
 * `migrations` — each message says what to write instead. Tenant tables come from
 * `typeormMigrations()` given to `TenancyModule`'s `migrations`.
 *
 * `@nestjs/typeorm` retries a failed DataSource factory ten times, three seconds apart, by
 * default; here the default is not to retry (the connections are Tenantry's, already open):
 * pass `toRetry`/`retryAttempts` to change it.
 *
 * @param options - the DataSource options, or `{ imports, inject, useFactory }` computing them.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({ registryUrl: process.env.DATABASE_URL!, migrations: typeormMigrations({ migrations: [CreatePosts1700000000000] }) }),
 *     TypeOrmModule.forRootAsync(tenantryTypeOrm({ autoLoadEntities: true })),
 *     PostsModule, // imports TypeOrmModule.forFeature([Post]); PostsService has @InjectRepository(Post)
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
export function tenantryTypeOrm(options: TenantryTypeOrmOptions | TenantryTypeOrmAsyncOptions): TenantryTypeOrmModuleOptions {
  if (options === null || typeof options !== 'object') throw invalidArgument('tenantryTypeOrm() needs options, e.g. { entities: [Post] }');
  const name = options.name;
  let imports: TypeOrmModuleAsyncOptions['imports'];
  let inject: unknown[] = [];
  let compute: (...args: unknown[]) => TenantryTypeOrmOptions | Promise<TenantryTypeOrmOptions>;
  if ('useFactory' in options && typeof options.useFactory === 'function') {
    const factory = options.useFactory as (...args: unknown[]) => TenantryTypeOrmOptions | Promise<TenantryTypeOrmOptions>;
    imports = options.imports;
    inject = [...(options.inject ?? [])];
    compute = factory;
  } else {
    const fixed = checkOptions(options as TenantryTypeOrmOptions);
    compute = () => fixed;
  }
  const useFactory = async (tenancy: TypeormTenancyHost, ...args: unknown[]): Promise<TypeOrmModuleOptions> => {
    if (tenancy === undefined || tenancy === null) {
      throw invalidArgument('tenantryTypeOrm() found no tenancy: import TenancyModule.forRoot()/forRootAsync() in the same application');
    }
    const opts = checkOptions(await compute(...args));
    const noRetry = opts.toRetry === undefined && opts.retryAttempts === undefined ? { toRetry: () => false } : {};
    return { ...noRetry, ...opts, type: 'postgres', [TENANCY_OF_OPTIONS]: tenancy } as unknown as TypeOrmModuleOptions;
  };
  const dataSourceFactory = async (given?: DataSourceOptions): Promise<DataSource> => {
    const { [TENANCY_OF_OPTIONS]: tenancy, ...rest } = (given ?? {}) as Record<string | symbol, unknown>;
    if (tenancy === undefined) {
      throw invalidArgument(
        "tenantryTypeOrm()'s dataSourceFactory needs the options of its own useFactory: pass tenantryTypeOrm()'s result to TypeOrmModule.forRootAsync() whole",
      );
    }
    // @nestjs/typeorm's own keys are not DataSource options.
    for (const key of ['retryAttempts', 'retryDelay', 'toRetry', 'autoLoadEntities', 'verboseRetryLog', 'manualInitialization'])
      delete rest[key];
    const dataSource = new DataSource(rest as unknown as DataSourceOptions);
    await typeormTenancy(tenancy as TypeormTenancyHost, dataSource);
    return dataSource;
  };
  return {
    ...(name === undefined ? {} : { name }),
    ...(imports === undefined ? {} : { imports }),
    inject: [TENANCY, ...inject],
    useFactory: useFactory as TypeOrmModuleAsyncOptions['useFactory'] & {},
    dataSourceFactory,
  };
}

/** Refuses what cannot work through Tenantry, saying what to write instead. */
function checkOptions(options: TenantryTypeOrmOptions): TenantryTypeOrmOptions {
  if (options === null || typeof options !== 'object') throw invalidArgument('tenantryTypeOrm() needs options, e.g. { entities: [Post] }');
  const opts = options as unknown as Record<string, unknown>;
  for (const key of CONNECTION_OPTIONS) {
    if (opts[key] !== undefined) {
      throw invalidArgument(
        `remove '${key}' from tenantryTypeOrm() options: Tenantry supplies TypeORM's connections (TenancyModule's registryUrl and servers), so TypeORM opens none of its own`,
      );
    }
  }
  if (opts['migrations'] !== undefined) {
    throw invalidArgument(
      "remove 'migrations' from tenantryTypeOrm() options: give them to TenancyModule instead — TenancyModule.forRoot({ …, migrations: typeormMigrations({ migrations: [...] }) }) — so every tenant is migrated",
    );
  }
  refuseUnsafeOptions({ ...opts, type: opts['type'] ?? 'postgres' }, 'tenantryTypeOrm() options');
  return Object.freeze({ ...options });
}

/**
 * Marks TypeORM options for a database that holds no tenant data (an analytics warehouse, a
 * legacy system), so that `TenancyModule` lets its `TypeOrmModule.forRoot()` open a pool of its
 * own beside Tenantry. Its repositories never run in a tenant: do not put tenant tables there.
 *
 * @example
 * ```ts
 * TypeOrmModule.forRoot(outsideTenancy({ name: 'warehouse', type: 'postgres', url: process.env.WAREHOUSE_URL, entities: [Sale] }))
 * ```
 */
export function outsideTenancy<O extends object>(options: O): O {
  return { ...options, [OUTSIDE_TENANCY]: true };
}
