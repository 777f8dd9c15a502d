/** Injection token of the options given to `TenantJobsModule.forRoot()`. */
export const TENANT_JOBS_OPTIONS = Symbol.for('tenantry:jobs:module-options');

/** Metadata key of `@TenantWorker()` (on the class: method → options). */
export const TENANT_WORKER = 'tenantry:jobs:worker';

/** Metadata key of `@TenantSchedule()` (on the class: method → options). */
export const TENANT_SCHEDULE = 'tenantry:jobs:schedule';

/** Injection token of the tenant-stamping producer of the `@nestjs/bullmq` queue `name` (`@InjectTenantQueue(name)`). */
export function tenantQueueToken(name: string): string {
  return `tenantry:jobs:queue:${name}`;
}
