import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { header, TenancyModule } from '@tenantry/nestjs';
import { typeormMigrations } from '@tenantry/typeorm';
import { tenantryTypeOrm } from '@tenantry/typeorm/nestjs';
import { Customer } from './modules/customers/customer.entity.js';
import { CustomersModule } from './modules/customers/customers.module.js';
import { TenantDatabasesModule } from './modules/tenant-databases/tenant-databases.module.js';
import { TENANT_MIGRATIONS } from './shared/infrastructure/database/typeorm/migrations/index.js';
import { TypeormTenantModule } from './shared/infrastructure/database/typeorm/typeorm-tenant.module.js';

export interface AppOptions {
  /** The master database: Tenantry's registry goes there, tenant databases on the same server. */
  readonly registryUrl: string;
  /**
   * The read replica of that server (any database name: each tenant's reads go to the database
   * of its name there); none when absent — reads stay on the primary, still read-only.
   */
  readonly readReplicaUrl?: string;
  /** 64 hex digits: the key the servers' URLs are stored encrypted with in the registry. */
  readonly encryptionKey: string;
  /** Connections per server (and as many per replica), for all tenant databases together. Default 10. */
  readonly poolMax?: number;
}

/**
 * Seed 001's application. Its `TypeormMasterService` (the master DataSource) and
 * `TypeormTenantFactory` (a DataSource and pool per tenant) are Tenantry's `TenancyModule`
 * (registry in the master database, database isolation, pools per server) and one
 * `TypeOrmModule.forRootAsync(tenantryTypeOrm(…))` that opens no pool of its own.
 */
@Module({})
export class AppModule {
  static forRoot({ registryUrl, encryptionKey, poolMax = 10 }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TenancyModule.forRoot({
          registryUrl,
          migrations: typeormMigrations({ migrations: TENANT_MIGRATIONS }),
          defaultIsolation: 'database',
          resolvers: [header('x-tenant-id')],
          pool: { max: poolMax },
          applicationName: 'seed-001-typeorm-databases',
          encryptionKey,
        }),
        // "Don't use autoLoadEntities in tenant DataSources": the entities are listed.
        TypeOrmModule.forRootAsync(tenantryTypeOrm({ entities: [Customer] })),
        TypeormTenantModule,
        TenantDatabasesModule,
        CustomersModule,
      ],
    };
  }
}
