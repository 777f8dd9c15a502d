import { Global, Module, type DynamicModule } from '@nestjs/common';
import { invalidArgument, type Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { knexTenancy, type KnexAdapter, type KnexTenancyOptions } from '../knex-adapter.js';
import { KNEX, KNEX_ADAPTER } from './knex.constants.js';

function openAdapter(options: KnexTenancyOptions, tenancy: Tenancy | undefined): KnexAdapter {
  if (tenancy === undefined) {
    throw invalidArgument('TenantryKnexModule needs the tenancy of @tenantry/nestjs: import TenancyModule.forRoot(…) in the root module');
  }
  return knexTenancy(tenancy, options);
}

/**
 * Knex in a NestJS application on Tenantry. Import it once, in the root module, beside
 * `TenancyModule` (whose `Tenancy` it takes through the `TENANCY` token). It makes the
 * application's {@link KnexAdapter} with Knex's options (`postProcessResponse`,
 * `wrapIdentifier`, `log`… — no `client`, `connection`, `pool` or `searchPath`: Tenantry supplies
 * the connections) and provides, globally:
 *
 * - `KNEX` (`@InjectKnex()`): one Knex instance, a singleton whose every query runs in the
 *   request's tenant; `knex.transaction()` holds one unit of work of that tenant until it
 *   commits or rolls back.
 * - `KNEX_ADAPTER` (`@InjectKnexAdapter()`): `bind(db)` inside `tenancy.withTenant()`.
 *
 * Nothing to close: Tenantry's router owns the connections (`knex.destroy()` is a no-op), and
 * `TenancyModule` closes them.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({ registryUrl: process.env.DATABASE_URL!, migrations: knexMigrations('./migrations') }),
 *     TenantryKnexModule.forRoot(),
 *   ],
 *   providers: [PostsService],
 *   controllers: [PostsController],
 * })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({})
export class TenantryKnexModule {
  /** Makes the Knex adapter on the application's tenancy, with Knex's options. Bad options fail here, with `INVALID_ARGUMENT`. */
  static forRoot(options: KnexTenancyOptions = {}): DynamicModule {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('TenantryKnexModule.forRoot(options?) takes Knex options such as { postProcessResponse }');
    const frozen = Object.freeze({ ...options });
    return {
      module: TenantryKnexModule,
      providers: [
        {
          provide: KNEX_ADAPTER,
          useFactory: (tenancy: Tenancy | undefined) => openAdapter(frozen, tenancy),
          inject: [{ token: TENANCY, optional: true }],
        },
        { provide: KNEX, useFactory: (adapter: KnexAdapter) => adapter.knex, inject: [KNEX_ADAPTER] },
      ],
      exports: [KNEX, KNEX_ADAPTER],
    };
  }
}
