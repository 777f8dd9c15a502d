import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { ErrorCodes, TenantryError } from '@tenantry/core';
import { isOutsideTenancy, managedHandleOrm } from '@tenantry/core/adapter';

/**
 * Refuses, at start, an ORM wiring that would bypass the tenancy: a TypeORM DataSource with a
 * pool of its own beside `TenancyModule` (a plain `TypeOrmModule.forRoot({ type: 'postgres', … })`
 * runs every repository in the database of its own url — and with `synchronize`, in one shared
 * schema every tenant reads), or one that changes schemas outside Tenantry's migrations.
 *
 * It imports no ORM: TypeORM's Nest module is recognised by its class name (`TypeOrmCoreModule`)
 * and its options provider (`TypeOrmModuleOptions`), a DataSource by its shape, and a DataSource
 * `typeormTenancy()` prepared by core's mark ({@link managedHandleOrm}).
 *
 * When, exactly:
 * 1. In this provider's constructor — when Nest starts creating providers, after its module scan,
 *    before any provider's asynchronous work has finished. A `forRoot()` of PostgreSQL (its options
 *    are a plain value) is refused here, as are `forRootAsync()` options already returned that ask
 *    for `synchronize`, `migrationsRun` or `dropSchema`; a `forRootAsync()` DataSource not made yet
 *    is refused when its options arrive with one of them. Nest creates providers concurrently, so
 *    TypeORM may already be connecting: the refused options are then made to throw when
 *    `initialize()` reads them after connecting, and it closes its pool — no statement of
 *    TypeORM's changes a schema. With Nest's default `abortOnError` the process ends here; with
 *    `abortOnError: false`, `NestFactory.create()` rejects.
 * 2. In `onModuleInit` — after every provider exists, before the application listens: any
 *    initialized PostgreSQL DataSource among the providers that no Tenantry adapter prepared is
 *    refused (this catches `forRootAsync()` without `tenantryTypeOrm()`, and DataSources made
 *    by hand); `app.init()`/`app.listen()` rejects.
 *
 * Options (or a DataSource) marked with `outsideTenancy()` of `@tenantry/typeorm/nestjs` are left
 * alone: a database that holds no tenant data.
 */
@Injectable()
export class OrmWiringCheck implements OnModuleInit {
  readonly #modules: ModulesContainer;

  constructor(@Inject(ModulesContainer) modules: ModulesContainer) {
    this.#modules = modules;
    for (const moduleRef of modules.values()) {
      if (nameOf(moduleRef.metatype) === TYPEORM_CORE_MODULE) checkTypeOrmOptions(moduleRef);
    }
  }

  onModuleInit(): void {
    const refused: string[] = [];
    const seen = new Set<object>();
    for (const moduleRef of this.#modules.values()) {
      for (const [token, wrapper] of moduleRef.providers) {
        const instance = staticInstance(wrapper);
        if (instance === null || typeof instance !== 'object' || seen.has(instance)) continue;
        seen.add(instance);
        if (isUnmanagedPostgresDataSource(instance)) refused.push(`${describeToken(token)} of ${moduleRef.name}`);
      }
    }
    if (refused.length > 0) {
      throw wiringError(
        `a TypeORM DataSource beside TenancyModule was not prepared by Tenantry (${refused.join(', ')}): it holds a pool of its own, so its repositories run outside every tenant, in the database of its own url. ${INSTEAD}`,
      );
    }
  }
}

const TYPEORM_CORE_MODULE = 'TypeOrmCoreModule';
/** `@nestjs/typeorm`'s token of the options of `forRoot()` (a value) and `forRootAsync()` (a factory). */
const TYPEORM_MODULE_OPTIONS = 'TypeOrmModuleOptions';
const TYPEORM_DATA_SOURCE_NAME = 'TypeOrmDataSourceName';
const SCHEMA_CHANGING = ['synchronize', 'migrationsRun', 'dropSchema'] as const;

const INSTEAD =
  "Write TypeOrmModule.forRootAsync(tenantryTypeOrm({ entities: [...] })) — import { tenantryTypeOrm } from '@tenantry/typeorm/nestjs' — and keep TypeOrmModule.forFeature() and @InjectRepository() as they are; tenant tables come from TenancyModule's migrations (typeormMigrations()). For a database that holds no tenant data, wrap its options in outsideTenancy() from the same package.";

/** The structural parts of Nest's `Module` and `InstanceWrapper` read here (stable across Nest 11 and 12). */
interface ModuleLike {
  readonly name: string;
  readonly metatype: unknown;
  readonly providers: Map<unknown, WrapperLike>;
}
interface WrapperLike {
  metatype: unknown;
  readonly instance: unknown;
  readonly scope?: unknown;
}

function checkTypeOrmOptions(moduleRef: ModuleLike): void {
  const optionsWrapper = moduleRef.providers.get(TYPEORM_MODULE_OPTIONS);
  if (optionsWrapper === undefined) return;
  const name = String(staticInstance(moduleRef.providers.get(TYPEORM_DATA_SOURCE_NAME)) ?? 'default');
  const dataSourceWrapper =
    moduleRef.providers.get(name === 'default' ? undefined : `${name}DataSource`) ?? findDefaultDataSource(moduleRef);
  const value = staticInstance(optionsWrapper);
  if (optionsWrapper.metatype === null || optionsWrapper.metatype === undefined) {
    // forRoot(options): @nestjs/typeorm makes `new DataSource(options)` and initializes it — a pool of its own.
    if (value === null || typeof value !== 'object' || !isPostgres(value) || read(value, 'manualInitialization') === true) return;
    const changing = SCHEMA_CHANGING.filter((key) => read(value, key) === true);
    refuse(
      wiringError(
        `TypeOrmModule.forRoot() beside TenancyModule opens a TypeORM pool of its own (data source '${name}'): its repositories would run outside every tenant, in the database of its own url${
          changing.length > 0 ? `, and its ${changing.join(', ')} would change that database's schema outside Tenantry's migrations` : ''
        }. ${INSTEAD}`,
      ),
      value,
      dataSourceWrapper,
    );
  }
  // forRootAsync(): the options exist once its factory has run; check them when the DataSource is about to be made.
  const refusal = (options: unknown): TenantryError | undefined => {
    if (options === null || typeof options !== 'object' || !isPostgres(options)) return undefined;
    const changing = SCHEMA_CHANGING.filter((key) => read(options, key) === true);
    if (changing.length === 0) return undefined;
    return wiringError(
      `remove ${changing.join(', ')} from the TypeORM options of data source '${name}': beside TenancyModule, tenant schemas change only through Tenantry migrations (TenancyModule's migrations: typeormMigrations({ migrations: [...] }), applied to every tenant). ${INSTEAD}`,
    );
  };
  const resolved = refusal(value);
  if (resolved !== undefined) refuse(resolved, value as object, dataSourceWrapper);
  if (dataSourceWrapper === undefined || typeof dataSourceWrapper.metatype !== 'function') return;
  const factory = dataSourceWrapper.metatype as (...args: unknown[]) => unknown;
  dataSourceWrapper.metatype = function checkedTypeOrmDataSource(...args: unknown[]): unknown {
    const err = refusal(args[0]);
    if (err !== undefined) throw err;
    return factory(...args);
  };
}

/**
 * Throws `err`, after making sure the refused DataSource never changes a schema. Nest creates
 * providers concurrently, so TypeORM may already be inside `initialize()`: the options it reads
 * after connecting (`entities`, `subscribers`, then `dropSchema`, `migrationsRun`, `synchronize`)
 * are made to throw `err`, and `initialize()` then closes its pool; a DataSource not yet made
 * never is.
 */
function refuse(err: TenantryError, options: object, dataSourceWrapper: WrapperLike | undefined): never {
  for (const key of ['entities', 'subscribers', 'dropSchema', 'migrationsRun', 'synchronize']) {
    try {
      Object.defineProperty(options, key, {
        configurable: true,
        enumerable: true,
        get() {
          throw err;
        },
      });
    } catch {
      // frozen options: the DataSource factory below still refuses
    }
  }
  if (dataSourceWrapper !== undefined && typeof dataSourceWrapper.metatype === 'function') {
    dataSourceWrapper.metatype = () => {
      throw err;
    };
  }
  throw err;
}

/** The default data source's provider: its token is TypeORM's `DataSource` class. */
function findDefaultDataSource(moduleRef: ModuleLike): WrapperLike | undefined {
  for (const [token, wrapper] of moduleRef.providers) if (typeof token === 'function' && token.name === 'DataSource') return wrapper;
  return undefined;
}

function isUnmanagedPostgresDataSource(instance: object): boolean {
  // Providers may be proxies that throw on unknown properties: read defensively.
  try {
    if (typeof read(instance, 'createQueryRunner') !== 'function' || typeof read(instance, 'getRepository') !== 'function') return false;
    const options = read(instance, 'options');
    if (options === null || typeof options !== 'object' || !isPostgres(options)) return false;
    if (read(instance, 'isInitialized') !== true) return false;
    return managedHandleOrm(instance) === undefined && !isOutsideTenancy(instance) && !isOutsideTenancy(options);
  } catch {
    return false;
  }
}

function isPostgres(options: object): boolean {
  return read(options, 'type') === 'postgres' && !isOutsideTenancy(options);
}

function read(target: object, key: string): unknown {
  try {
    return (target as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A provider's instance in the static context (request- and transient-scoped providers have none at start). */
function staticInstance(wrapper: WrapperLike | undefined): unknown {
  if (wrapper === undefined || (wrapper.scope !== undefined && wrapper.scope !== 0)) return undefined;
  try {
    return wrapper.instance;
  } catch {
    return undefined;
  }
}

function nameOf(metatype: unknown): string | undefined {
  return typeof metatype === 'function' ? metatype.name : undefined;
}

function describeToken(token: unknown): string {
  if (typeof token === 'function') return `provider ${token.name}`;
  return `provider '${String(token)}'`;
}

function wiringError(message: string): TenantryError {
  return new TenantryError(ErrorCodes.INVALID_ARGUMENT, message);
}
