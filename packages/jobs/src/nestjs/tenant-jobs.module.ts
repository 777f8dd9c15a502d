import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { invalidArgument } from '@tenantry/core';
import { TENANT_JOBS_OPTIONS, tenantQueueToken } from './tenant-jobs.constants.js';
import { TenantJobsService, type TenantJobsModuleOptions } from './tenant-jobs.service.js';

/** `@nestjs/bullmq`'s `getQueueToken(name)`, without loading it (an optional peer). */
const bullQueueToken = (name: string) => `BullQueue_${name}`;

/**
 * Tenant-aware background work for a Nest application. Import it once, next to `TenancyModule`
 * (whose `TENANCY` it uses): `@TenantProcessor()` processors of `@nestjs/bullmq`, `@TenantWorker()`
 * methods on pg-boss and `@TenantSchedule()` methods then run inside their tenant.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({ registryUrl, resolvers: [header('x-tenant-id')] }),
 *     BullModule.forRoot({ connection: { host: 'localhost', port: 6379 } }),
 *     TenantJobsModule.forRoot({ pgBoss: { connectionString: registryUrl }, bullQueues: ['emails'], counts: true }),
 *   ],
 *   providers: [EmailsProcessor, Invoices],
 * })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({})
export class TenantJobsModule {
  /** Configures the jobs (see {@link TenantJobsModuleOptions}). */
  static forRoot(options: TenantJobsModuleOptions = {}): DynamicModule {
    const frozen = Object.freeze({ ...options });
    const queues = (frozen.bullQueues ?? []).map((q) => (typeof q === 'string' ? { name: q, tenantFree: false } : q));
    for (const q of queues) if (typeof q.name !== 'string' || q.name === '') throw invalidArgument('bullQueues: every queue needs a name');
    const queueProviders: Provider[] = queues.map((q) => ({
      provide: tenantQueueToken(q.name),
      useFactory: async (queue: never, jobs: TenantJobsService) => {
        const { TenantQueue } = await import('../bullmq-jobs.js');
        return new TenantQueue(queue, jobs.gate, q.tenantFree === true);
      },
      inject: [bullQueueToken(q.name), TenantJobsService],
    }));
    const imports: DynamicModule['imports'] = [DiscoveryModule];
    if (queues.length > 0) {
      imports.push(import('@nestjs/bullmq').then((m) => m.BullModule.registerQueue(...queues.map((q) => ({ name: q.name })))));
    }
    return {
      module: TenantJobsModule,
      imports,
      providers: [{ provide: TENANT_JOBS_OPTIONS, useValue: frozen }, TenantJobsService, ...queueProviders],
      exports: [TenantJobsService, ...queueProviders.map((p) => (p as { provide: string }).provide)],
    };
  }
}
