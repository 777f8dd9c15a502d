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
}
