import { fileURLToPath } from 'node:url';
import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Tenancy } from '@tenantry/core';
import { domain, header, path, subdomain, TENANCY, TenancyModule, type TenantResolver } from '@tenantry/nestjs';
import { TenancyMetricsModule } from '@tenantry/nestjs/metrics';
import { APP_GUARD } from '@nestjs/core';
import { AdminStatsController } from './admin/admin-stats.controller.js';
import { MobilityController } from './admin/mobility.controller.js';
import { MigrationsController } from './admin/migrations.controller.js';
import { ServersController } from './admin/servers.controller.js';
import { API_CONFIG, LOGGER } from './api.constants.js';
import { AuthController } from './auth/auth.controller.js';
import { RateLimitGuard } from './auth/rate-limit.guard.js';
import { ApiSecrets } from './auth/secrets.js';
import { TokenService } from './auth/token.service.js';
import type { ApiConfig } from './config.js';
import { HealthController } from './health/health.controller.js';
import { ReadinessProbe } from './health/readiness.js';
import { ApiMetrics } from './metrics/api-metrics.js';
import { PostsController } from './posts/posts.controller.js';
import { PostsService } from './posts/posts.service.js';
import { ApiStore } from './store/api-store.js';
import { TenantsController } from './tenants/tenants.controller.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';

/** The service's tenant migrations (posts, users): `apps/api/migrations`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** What the service runs with, prepared before Nest starts. */
export interface ApiRuntime {
  readonly config: ApiConfig;
  readonly registryUrl: string;
  readonly logger: Logger;
  readonly store: ApiStore;
  readonly secrets: ApiSecrets;
  /** The app's Prometheus registry, served at `/metrics`. */
  readonly metrics: ApiMetrics;
}

/** Token of the {@link ApiRuntime}. */
export const API_RUNTIME = Symbol.for('tenantry:api:runtime');

/**
 * The resolver chain: `/t/:slug/...` first (it rewrites the path), then the `x-tenant-id`
 * header (id or slug), then `<slug>.<TENANTRY_BASE_DOMAIN>` when configured, then custom
 * domains registered with `POST /tenants/:id/domains`.
 */
export function apiResolvers(config: Pick<ApiConfig, 'baseDomain'>): TenantResolver[] {
  return [path(), header('x-tenant-id'), ...(config.baseDomain === undefined ? [] : [subdomain(config.baseDomain)]), domain()];
}

/** Closes the app's own pool when the application shuts down. */
class StoreCloser implements OnApplicationShutdown {
  readonly #store: ApiStore;
  constructor(@Inject(ApiStore) store: ApiStore) {
    this.#store = store;
  }
  async onApplicationShutdown(): Promise<void> {
    await this.#store.close();
  }
}

/** Runtime values as providers, visible to every module (and to TenancyModule's factory). */
@Global()
@Module({})
class ApiRuntimeModule {
  static register(runtime: ApiRuntime): DynamicModule {
    const providers = [
      { provide: API_RUNTIME, useValue: runtime },
      { provide: API_CONFIG, useValue: runtime.config },
      { provide: LOGGER, useValue: runtime.logger },
      { provide: ApiStore, useValue: runtime.store },
      { provide: ApiSecrets, useValue: runtime.secrets },
      { provide: ApiMetrics, useValue: runtime.metrics },
    ];
    return { module: ApiRuntimeModule, providers: [...providers, StoreCloser], exports: providers.map((p) => p.provide) };
  }
}

/**
 * The reference service: admin API, tenant posts and users, auth, health and readiness,
 * Prometheus metrics at `/metrics`.
 */
@Module({})
export class AppModule {
  static register(runtime: ApiRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ApiRuntimeModule.register(runtime),
        TenancyModule.forRootAsync({
          inject: [API_RUNTIME],
          useFactory: (rt: ApiRuntime) => ({
            registryUrl: rt.registryUrl,
            migrations: MIGRATIONS_DIR,
            logger: rt.logger.child({ component: 'tenantry' }),
            pool: { max: rt.config.poolMax, idleTimeoutMillis: rt.config.poolIdleMs, shareHeadroom: rt.config.poolShareHeadroom },
            plans: rt.config.plans,
            pendingTenants: rt.config.pendingTenants,
            applicationName: 'tenantry-api',
            resolvers: apiResolvers(rt.config),
            onUnitOfWork: rt.metrics.tenancy.onUnitOfWork,
            ...(rt.config.encryptionKey === undefined ? {} : { encryptionKey: rt.config.encryptionKey }),
          }),
        }),
        TenancyMetricsModule.forRoot({ metrics: runtime.metrics.tenancy, path: 'metrics' }),
      ],
      controllers: [
        TenantsController,
        AdminStatsController,
        ServersController,
        MigrationsController,
        MobilityController,
        PostsController,
        UsersController,
        AuthController,
        HealthController,
      ],
      providers: [
        // Per-tenant request rate of the tenant's plan (429 TOO_MANY_REQUESTS).
        { provide: APP_GUARD, useClass: RateLimitGuard },
        {
          // Plan figures in /metrics (by server and plan, never by tenant).
          provide: 'tenantry:api:fairness-metrics',
          inject: [TENANCY],
          useFactory: (tenancy: Tenancy) => runtime.metrics.watchPlans(tenancy),
        },
        TokenService,
        PostsService,
        UsersService,
        {
          provide: ReadinessProbe,
          inject: [TENANCY, LOGGER],
          useFactory: (tenancy: Tenancy, logger: Logger) => new ReadinessProbe(tenancy, logger.child({ component: 'readiness' })),
        },
      ],
    };
  }
}
