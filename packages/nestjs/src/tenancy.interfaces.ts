import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { Tenancy, TenancyOptions } from '@tenantry/core';
import type { TenantResolver } from './resolvers/tenant-resolver.js';

/** How requests reach a tenant, and what the module installs. */
export interface TenancyHttpOptions {
  /**
   * Tried in order; the first to find a tenant wins. Default `[header('x-tenant-id')]`.
   * @example
   * ```ts
   * resolvers: [path(), subdomain('example.com'), domain(), header()]
   * ```
   */
  readonly resolvers?: readonly TenantResolver[];
  /**
   * Register `TenancyExceptionFilter` globally, mapping Tenantry error codes (and Nest's own
   * HTTP errors) to `{ statusCode, code, message }`. Default true. With `forRootAsync()`, give
   * it beside `useFactory` instead: global filters are fixed before the factory runs.
   */
  readonly exceptionFilter?: boolean;
  /**
   * Register `TenancyContextInterceptor` globally: when a middleware mounted after Tenantry's
   * dropped the AsyncLocalStorage context (a callback-style library that calls `next()` from a
   * pool or queue of its own), the handler is run in the tenant's context again. Default true.
   *
   * Any global interceptor, even one that does nothing, puts every route on Nest's RxJS
   * interceptor path; without one Nest calls the handler directly. `bench:http` measures that
   * path at 12 more promises per request and ≈ 50–90 µs of Node CPU (docs/benchmarks.md).
   * Set false when no middleware after Tenantry's drops the context: `TenancyGuard` then
   * checks, on every request that has a tenant, that the context still holds it, and fails the
   * request with a 500 (`INTERNAL`, the log names this option) when it does not — the handler
   * never runs without its tenant.
   * With `forRootAsync()`, give it beside `useFactory`, as `exceptionFilter`.
   *
   * @example
   * ```ts
   * TenancyModule.forRoot({ registryUrl, contextInterceptor: false })
   * ```
   */
  readonly contextInterceptor?: boolean;
  /**
   * The message of a request no resolver found a tenant for (400 `TENANT_REQUIRED`).
   * Default: seed 000's `Tenant ID is missing in x-tenant-id header` for the default chain, or
   * a sentence listing where the resolvers looked.
   */
  readonly missingTenantMessage?: string;
}

/** Let the module create (and close on shutdown) the tenancy from core's options. */
export type TenancyModuleCreateOptions = TenancyOptions & TenancyHttpOptions;

/**
 * Hand the module a tenancy you created. The module does not close it unless
 * `closeOnShutdown` is true.
 */
export interface TenancyModuleInstanceOptions extends TenancyHttpOptions {
  readonly tenancy: Tenancy;
  /** Close the given tenancy when the application shuts down. Default false. */
  readonly closeOnShutdown?: boolean;
}

/** Options of `TenancyModule.forRoot()`. */
export type TenancyModuleOptions = TenancyModuleCreateOptions | TenancyModuleInstanceOptions;

/** A class that makes the module options (`forRootAsync({ useClass })`). */
export interface TenancyOptionsFactory {
  createTenancyOptions(): TenancyModuleOptions | Promise<TenancyModuleOptions>;
}

/**
 * Options of `TenancyModule.forRootAsync()`: give exactly one of `useFactory`, `useClass`,
 * `useExisting`.
 *
 * @example
 * ```ts
 * TenancyModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ registryUrl: config.getOrThrow('DATABASE_URL') }),
 * })
 * ```
 */
export interface TenancyModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly useFactory?: (...args: never[]) => TenancyModuleOptions | Promise<TenancyModuleOptions>;
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  readonly useClass?: Type<TenancyOptionsFactory>;
  readonly useExisting?: Type<TenancyOptionsFactory>;
  /**
   * Register {@link TenancyExceptionFilter} globally. Default true. Given here, not by the
   * factory: global filters are fixed before the factory runs.
   */
  readonly exceptionFilter?: boolean;
  /**
   * Register {@link TenancyContextInterceptor} globally (see `TenancyHttpOptions.contextInterceptor`).
   * Default true. Given here, not by the factory: global interceptors are fixed before it runs.
   */
  readonly contextInterceptor?: boolean;
}
