import { fileURLToPath } from 'node:url';
import { Module, type DynamicModule } from '@nestjs/common';
import { path, TenancyModule } from '@tenantry/nestjs';
import { prismaMigrations } from '@tenantry/prisma';
import { TenantryPrismaModule } from '@tenantry/prisma/nestjs';
import { AccountsModule } from './accounts/accounts.module.js';
import { PrismaClient } from './generated/prisma/client.js';
import { AdminStatsController, HealthController } from './health/health.controller.js';
import { JournalsModule } from './journals/journals.module.js';
import { CompanyTenancyModule } from './tenancy/company-tenancy.module.js';
import { UsersModule } from './users/users.module.js';

/** `prisma/` beside `dist/` (this file is `dist/app.module.js`). */
const PRISMA = (p: string) => fileURLToPath(new URL(`../prisma/${p}`, import.meta.url));

/**
 * Seed 003's `consumer.apply(TenantMiddleware).exclude('health', 'auth/(.*)').forRoutes('*')`, plus
 * this example's registry routes: every other path starts with a company slug.
 */
export const NOT_TENANT_ROUTES = ['health', 'auth/*', 'tenants', 'tenants/*', 'admin/*'] as const;

export interface AppOptions {
  /** Tenantry's registry, seed 003's `nusa_journal_registry`; company databases are made on the same server. */
  readonly registryUrl: string;
  /** Connections per server, for all companies together. Default 10. */
  readonly poolMax?: number;
  /** Prisma clients kept, one per company (seed 003: 50, LRU, 30 minutes idle). */
  readonly maxClients?: number;
}

/**
 * Seed 003's `AppModule` with Tenantry: `TenancyModule` (the registry, a database per company with
 * the Prisma migrations and the chart of accounts, the company from the first path segment) and
 * `TenantryPrismaModule` (a cached Prisma client per company, on Tenantry's connections).
 */
@Module({})
export class AppModule {
  static forRoot({ registryUrl, poolMax = 10, maxClients = 50 }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TenancyModule.forRoot({
          registryUrl,
          migrations: prismaMigrations(PRISMA('migrations')),
          seeds: PRISMA('seeds'),
          defaultIsolation: 'database',
          resolvers: [path({ prefix: '', rewrite: false, exclude: NOT_TENANT_ROUTES })],
          pool: { max: poolMax },
          applicationName: 'seed-003-prisma-accounting',
        }),
        TenantryPrismaModule.forRoot({
          client: PrismaClient,
          // Starting a transaction may wait for a connection within the server's budget (Prisma gives up after 2 s),
          // and a plan-limited create waits for the table lock of concurrent ones (Prisma's default timeout: 5 s).
          clientOptions: { transactionOptions: { maxWait: 10_000, timeout: 20_000 } },
          maxClients,
          idleTimeoutMs: 30 * 60_000,
        }),
        // Registered first: /tenants/… is matched before the /:tenantSlug/… routes.
        CompanyTenancyModule,
        UsersModule,
        AccountsModule,
        JournalsModule,
      ],
      controllers: [HealthController, AdminStatsController],
    };
  }
}
