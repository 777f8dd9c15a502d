import {
  Inject,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { UnitOfWorkProvider } from '@tenantry/core/adapter';
import { TENANCY } from '@tenantry/nestjs';
import { kyselyTenancy, type KyselyAdapter, type KyselyTenancyOptions } from '../kysely-adapter.js';

/** Injection token of the application's Kysely (use {@link InjectKysely}). */
export const KYSELY = Symbol.for('tenantry:kysely:db');

/** Injection token of the {@link KyselyAdapter} (for `bind(db)` inside `tenancy.withTenant()`). */
export const KYSELY_ADAPTER = Symbol.for('tenantry:kysely:adapter');

/**
 * Injects the application's Kysely: one instance, safe in singleton providers, whose every
 * query runs in the tenant of the request (or of the `tenancy.run()` / `withTenant()` around it).
 *
 * @example
 * ```ts
 * @Injectable()
 * export class PostsService {
 *   constructor(@InjectKysely() private readonly db: Kysely<Database>) {}
 *   findAll() {
 *     return this.db.selectFrom('posts').selectAll().orderBy('created_at', 'desc').execute();
 *   }
 * }
 * ```
 */
export const InjectKysely = (): PropertyDecorator & ParameterDecorator => Inject(KYSELY);

/** Injects the {@link KyselyAdapter} made by {@link KyselyTenancyModule}. */
export const InjectKyselyAdapter = (): PropertyDecorator & ParameterDecorator => Inject(KYSELY_ADAPTER);

/** Options of {@link KyselyTenancyModule.forRootAsync}. */
export interface KyselyTenancyModuleAsyncOptions {
  /** Modules whose providers `useFactory` injects (e.g. `ConfigModule`). */
  readonly imports?: ModuleMetadata['imports'];
  /** Providers given to `useFactory`, in order. */
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Kysely's options (`plugins`, `log`, `cursor`). */
  useFactory(...args: never[]): KyselyTenancyOptions | Promise<KyselyTenancyOptions>;
}

const OPTIONS = Symbol('tenantry:kysely:options');

function providers(): DynamicModule['providers'] {
  return [
    {
      provide: KYSELY_ADAPTER,
      useFactory: (tenancy: UnitOfWorkProvider, options: KyselyTenancyOptions) => kyselyTenancy(tenancy, options),
      inject: [TENANCY, OPTIONS],
    },
    { provide: KYSELY, useFactory: (adapter: KyselyAdapter): Kysely<unknown> => adapter.db, inject: [KYSELY_ADAPTER] },
  ];
}

/**
 * Kysely for a NestJS application with `TenancyModule` (from `@tenantry/nestjs`): provides the
 * application's Kysely ({@link InjectKysely}) and its adapter ({@link InjectKyselyAdapter}),
 * globally. Import it once, in the root module, next to `TenancyModule`. No provider needs
 * `Scope.REQUEST`: the tenant is resolved at each query, from the request's context.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({ registryUrl: process.env.DATABASE_URL!, migrations: kyselyMigrations('./dist/migrations') }),
 *     KyselyTenancyModule.forRoot({ plugins: [new CamelCasePlugin()] }),
 *     PostsModule,
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class KyselyTenancyModule {
  /** With static Kysely options. */
  static forRoot(options: KyselyTenancyOptions = {}): DynamicModule {
    return {
      module: KyselyTenancyModule,
      global: true,
      providers: [{ provide: OPTIONS, useValue: options }, ...providers()!],
      exports: [KYSELY, KYSELY_ADAPTER],
    };
  }

  /** With Kysely options from a factory (e.g. reading `ConfigService`). */
  static forRootAsync(options: KyselyTenancyModuleAsyncOptions): DynamicModule {
    return {
      module: KyselyTenancyModule,
      global: true,
      imports: options.imports ?? [],
      providers: [{ provide: OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, ...providers()!],
      exports: [KYSELY, KYSELY_ADAPTER],
    };
  }
}
