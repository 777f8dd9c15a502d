import { Global, Module, type DynamicModule } from '@nestjs/common';
import { invalidArgument, type Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { drizzleTenancy, type DrizzleAdapter, type DrizzleTenancyOptions } from '../drizzle-adapter.js';
import { DRIZZLE, DRIZZLE_ADAPTER } from './drizzle.constants.js';

function openAdapter<TSchema extends Record<string, unknown>>(
  options: DrizzleTenancyOptions<TSchema>,
  tenancy: Tenancy | undefined,
): DrizzleAdapter<TSchema> {
  if (tenancy === undefined) {
    throw invalidArgument(
      'TenantryDrizzleModule needs the tenancy of @tenantry/nestjs: import TenancyModule.forRoot(…) in the root module',
    );
  }
  return drizzleTenancy(tenancy, options);
}

/**
 * Drizzle in a NestJS application on Tenantry. Import it once, in the root module, beside
 * `TenancyModule` (whose `Tenancy` it takes through the `TENANCY` token). It makes the
 * application's {@link DrizzleAdapter} with Drizzle's options (`schema`, `casing`, `logger`,
 * `cache`) and provides, globally:
 *
 * - `DRIZZLE` (`@InjectDrizzle()`): one Drizzle database, a singleton whose every statement runs
 *   in the request's tenant; `db.transaction()` holds one unit of work of that tenant until it
 *   commits or rolls back.
 * - `DRIZZLE_ADAPTER` (`@InjectDrizzleAdapter()`): `bind(uow)` inside `tenancy.withTenant()`.
 *
 * Nothing to close: Tenantry's router owns the connections, and `TenancyModule` closes them.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({ registryUrl: process.env.DATABASE_URL!, migrations: drizzleMigrations('./drizzle') }),
 *     TenantryDrizzleModule.forRoot({ schema }),
 *   ],
 *   providers: [PostsService],
 *   controllers: [PostsController],
 * })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({})
export class TenantryDrizzleModule {
  /** Makes the Drizzle adapter on the application's tenancy, with Drizzle's options. */
  static forRoot<TSchema extends Record<string, unknown> = Record<string, never>>(
    options: DrizzleTenancyOptions<TSchema> = {},
  ): DynamicModule {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('TenantryDrizzleModule.forRoot(options?) takes Drizzle options such as { schema }');
    const frozen = Object.freeze({ ...options });
    return {
      module: TenantryDrizzleModule,
      providers: [
        {
          provide: DRIZZLE_ADAPTER,
          useFactory: (tenancy: Tenancy | undefined) => openAdapter(frozen, tenancy),
          inject: [{ token: TENANCY, optional: true }],
        },
        { provide: DRIZZLE, useFactory: (adapter: DrizzleAdapter<TSchema>) => adapter.db, inject: [DRIZZLE_ADAPTER] },
      ],
      exports: [DRIZZLE, DRIZZLE_ADAPTER],
    };
  }
}
