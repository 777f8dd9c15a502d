import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { header, TenancyModule } from '@tenantry/nestjs';
import { typeormMigrations } from '@tenantry/typeorm';
import { tenantryTypeOrm } from '@tenantry/typeorm/nestjs';
import { TenantsModule } from './modules/public/tenants.module.js';
import { TENANT_MIGRATIONS } from './modules/tenanted/migrations/index.js';
import { PostsModule } from './modules/tenanted/posts/posts.module.js';

export interface AppOptions {
  /** Tenantry's registry database (the seed's `DB_NAME`); tenant schemas are made beside it. */
  readonly registryUrl: string;
  /** Connections per server (the seed's `MAX_CONNECTION_POOL_SIZE`, but for all tenants together). Default 10. */
  readonly poolMax?: number;
}

/**
 * Seed 000's `AppModule`. Its `TenancyModule` (request-scoped `CONNECTION`, LRU of
 * DataSources) and `TenancyMiddleware` are Tenantry's `TenancyModule` with the `x-tenant-id`
 * resolver; its two `TypeOrmModule` configurations (public and tenant) are one
 * `TypeOrmModule.forRootAsync(tenantryTypeOrm(…))` that opens no pool of its own.
 */
@Module({})
export class AppModule {
  static forRoot({ registryUrl, poolMax = 10 }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TenancyModule.forRoot({
          registryUrl,
          migrations: typeormMigrations({ migrations: TENANT_MIGRATIONS }),
          defaultIsolation: 'schema',
          resolvers: [header('x-tenant-id')],
          pool: { max: poolMax },
          applicationName: 'seed-000-typeorm-posts',
        }),
        TypeOrmModule.forRootAsync(tenantryTypeOrm({ autoLoadEntities: true, uuidExtension: 'pgcrypto' })),
        TenantsModule,
        PostsModule,
      ],
    };
  }
}
