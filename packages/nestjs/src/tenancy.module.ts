import { Module, type DynamicModule } from '@nestjs/common';
import type { TenancyModuleAsyncOptions, TenancyModuleOptions } from './tenancy.interfaces.js';
import { TenancyCoreModule } from './tenancy-core.module.js';

/**
 * Multi-tenant PostgreSQL for a NestJS application. Import it once, in the root module.
 *
 * Every request goes through the resolver chain; the tenant found is entered with
 * AsyncLocalStorage for the whole request, so services call `tenancy.withTenant(fn)` (or read
 * `currentTenant()`) with no request-scoped providers. Routes need a tenant unless marked
 * `@SkipTenancy()`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({
 *       registryUrl: process.env.DATABASE_URL!,
 *       migrations: './migrations',
 *       resolvers: [subdomain('example.com'), header('x-tenant-id')],
 *     }),
 *   ],
 *   controllers: [PostsController],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class TenancyModule {
  /** Configures the module with static options (core's `TenancyOptions`, or `{ tenancy }`, plus `resolvers`). */
  static forRoot(options: TenancyModuleOptions): DynamicModule {
    return { module: TenancyModule, imports: [TenancyCoreModule.forRoot(options)] };
  }

  /** Configures the module from a factory, a class or an existing provider (e.g. `ConfigService`). */
  static forRootAsync(options: TenancyModuleAsyncOptions): DynamicModule {
    return { module: TenancyModule, imports: [TenancyCoreModule.forRootAsync(options)] };
  }
}
