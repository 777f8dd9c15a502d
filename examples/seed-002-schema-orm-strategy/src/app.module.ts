import { fileURLToPath } from 'node:url';
import { Module, type DynamicModule } from '@nestjs/common';
import { header, query, subdomain, TenancyModule } from '@tenantry/nestjs';
import { TenancyMetrics, TenancyMetricsModule } from '@tenantry/nestjs/metrics';
import { Registry } from 'prom-client';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import type { OrmConfig } from './orm/orm-config.js';
import { OrmModule } from './orm/orm.module.js';
import { TenantsModule } from './tenants/tenants.module.js';
import { UsersModule } from './users/users.module.js';

/** The tenant migrations (plain SQL, the same for both ORMs), beside `dist/` (this file is `dist/app.module.js`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface AppOptions {
  /** Tenantry's registry database; tenant schemas are made beside it. */
  readonly registryUrl: string;
  /** Seed 002's `OrmConfig`: TypeORM or Drizzle. */
  readonly orm: OrmConfig;
  /** Tenants are also found as subdomains of this host: `acme.localhost` → `acme`. Default `localhost`. */
  readonly baseDomain?: string;
  /** Connections per server, for all tenants together (the seed's `max: 20` was per tenant). Default 10. */
  readonly poolMax?: number;
}

/**
 * Seed 002's application: `TenancyModule` is its "tenant resolution" and "tenant connections"
 * (header, subdomain or query; one pool per server shared by the tenant schemas), `OrmModule` its
 * "ORM abstraction layer" (the ORM of the configuration), and `TenancyMetrics` counts each
 * tenant's units of work for the connection monitor.
 */
@Module({})
export class AppModule {
  static forRoot({ registryUrl, orm, baseDomain = 'localhost', poolMax = 10 }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Its own prom-client registry (no /metrics route here): several apps may run in one process.
        TenancyMetricsModule.forRoot({ registry: new Registry(), path: false }),
        TenancyModule.forRootAsync({
          inject: [TenancyMetrics],
          useFactory: (metrics: TenancyMetrics) => ({
            registryUrl,
            migrations: MIGRATIONS_DIR,
            defaultIsolation: 'schema',
            resolvers: [header('x-tenant-id'), subdomain(baseDomain), query('tenant')],
            pool: { max: poolMax },
            applicationName: `seed-002-schema-orm-strategy:${orm.type}`,
            onUnitOfWork: metrics.onUnitOfWork,
          }),
        }),
        OrmModule.forRoot(orm),
        TenantsModule,
        UsersModule,
        MonitoringModule,
      ],
    };
  }
}
