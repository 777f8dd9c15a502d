import {
  Global,
  Inject,
  Module,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { createTenancy, ErrorCodes, Tenancy, TenantryError } from '@tenantry/core';
import { TENANCY, TENANCY_CONTEXT_INTERCEPTED, TENANCY_MODULE_OPTIONS } from './tenancy.constants.js';
import type { TenancyModuleAsyncOptions, TenancyModuleOptions, TenancyOptionsFactory } from './tenancy.interfaces.js';
import { TenancyContextInterceptor } from './tenancy-context.interceptor.js';
import { TenancyExceptionFilter } from './tenancy-exception.filter.js';
import { TenancyGuard } from './tenancy.guard.js';
import { TenancyMiddleware } from './tenancy.middleware.js';
import { OrmWiringCheck } from './orm-wiring-check.js';

/** Whether the module owns (and so closes) the tenancy. */
const TENANCY_OWNED = Symbol.for('tenantry:nestjs:owned');

interface Owned {
  readonly tenancy: Tenancy;
  readonly owned: boolean;
}
const OWNED_TENANCY = Symbol.for('tenantry:nestjs:owned-tenancy');

function checkOptions(options: TenancyModuleOptions): TenancyModuleOptions {
  if (options === null || typeof options !== 'object') {
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'TenancyModule needs options: { registryUrl, … } or { tenancy }');
  }
  if (options.resolvers !== undefined && (!Array.isArray(options.resolvers) || options.resolvers.some((r) => typeof r !== 'function'))) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      'TenancyModule options.resolvers must be an array of resolver functions, e.g. [header(), subdomain("example.com")]',
    );
  }
  if (options.contextInterceptor !== undefined && typeof options.contextInterceptor !== 'boolean') {
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'TenancyModule options.contextInterceptor must be true or false');
  }
  return Object.freeze({ ...options });
}

async function openTenancy(options: TenancyModuleOptions): Promise<Owned> {
  if ('tenancy' in options) {
    if (!(options.tenancy instanceof Tenancy))
      throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'TenancyModule options.tenancy must be a Tenancy made by createTenancy()');
    return { tenancy: options.tenancy, owned: options.closeOnShutdown === true };
  }
  const { resolvers: _r, exceptionFilter: _f, missingTenantMessage: _m, contextInterceptor: _i, ...core } = options;
  return { tenancy: await createTenancy(core), owned: true };
}

function commonProviders(exceptionFilter: boolean, contextInterceptor: boolean): Provider[] {
  const providers: Provider[] = [
    { provide: OWNED_TENANCY, useFactory: openTenancy, inject: [TENANCY_MODULE_OPTIONS] },
    { provide: TENANCY, useFactory: (o: Owned) => o.tenancy, inject: [OWNED_TENANCY] },
    { provide: TENANCY_OWNED, useFactory: (o: Owned) => o.owned, inject: [OWNED_TENANCY] },
    TenancyMiddleware,
    OrmWiringCheck,
    { provide: APP_GUARD, useClass: TenancyGuard },
    { provide: TENANCY_CONTEXT_INTERCEPTED, useValue: contextInterceptor },
  ];
  // Any global interceptor puts every route on Nest's RxJS path; without it the guard checks the context.
  if (contextInterceptor) providers.push({ provide: APP_INTERCEPTOR, useClass: TenancyContextInterceptor });
  if (exceptionFilter) providers.push({ provide: APP_FILTER, useClass: TenancyExceptionFilter });
  return providers;
}

/**
 * The global module behind `TenancyModule`: provides the {@link Tenancy}, mounts
 * {@link TenancyMiddleware} on every route, installs {@link TenancyGuard} (and the exception
 * filter and the context interceptor, unless turned off), and closes the tenancy it created when the application shuts down.
 */
@Global()
@Module({})
export class TenancyCoreModule implements NestModule, OnApplicationShutdown {
  readonly #tenancy: Tenancy;
  readonly #owned: boolean;

  constructor(@Inject(TENANCY) tenancy: Tenancy, @Inject(TENANCY_OWNED) owned: boolean) {
    this.#tenancy = tenancy;
    this.#owned = owned;
  }

  static forRoot(options: TenancyModuleOptions): DynamicModule {
    const frozen = checkOptions(options);
    return {
      module: TenancyCoreModule,
      providers: [
        { provide: TENANCY_MODULE_OPTIONS, useValue: frozen },
        ...commonProviders(frozen.exceptionFilter !== false, frozen.contextInterceptor !== false),
      ],
      exports: [TENANCY, TENANCY_MODULE_OPTIONS],
    };
  }

  static forRootAsync(options: TenancyModuleAsyncOptions): DynamicModule {
    return {
      module: TenancyCoreModule,
      imports: options.imports ?? [],
      providers: [
        ...asyncOptionsProviders(options),
        ...commonProviders(options.exceptionFilter !== false, options.contextInterceptor !== false),
      ],
      exports: [TENANCY, TENANCY_MODULE_OPTIONS],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenancyMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.#owned) await this.#tenancy.close();
  }
}

function asyncOptionsProviders(options: TenancyModuleAsyncOptions): Provider[] {
  const given = [options.useFactory, options.useClass, options.useExisting].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      'TenancyModule.forRootAsync() needs exactly one of useFactory, useClass or useExisting',
    );
  }
  if (options.useFactory !== undefined) {
    const factory = options.useFactory as (...args: unknown[]) => TenancyModuleOptions | Promise<TenancyModuleOptions>;
    return [
      {
        provide: TENANCY_MODULE_OPTIONS,
        useFactory: async (...args: unknown[]) => checkOptions(await factory(...args)),
        inject: options.inject ?? [],
      },
    ];
  }
  const cls = (options.useClass ?? options.useExisting)!;
  const providers: Provider[] = [
    {
      provide: TENANCY_MODULE_OPTIONS,
      useFactory: async (f: TenancyOptionsFactory) => checkOptions(await f.createTenancyOptions()),
      inject: [cls],
    },
  ];
  if (options.useClass !== undefined) providers.push({ provide: cls, useClass: cls });
  return providers;
}
