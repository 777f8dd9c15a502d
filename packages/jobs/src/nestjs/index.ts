// `@tenantry/jobs/nestjs`: needs @nestjs/common, @nestjs/core and @tenantry/nestjs; pg-boss,
// bullmq and @nestjs/bullmq are loaded only when configured.
export { TenantJobsModule } from './tenant-jobs.module.js';
export { TenantJobsService } from './tenant-jobs.service.js';
export type { TenantJobsModuleOptions } from './tenant-jobs.service.js';
export { TenantProcessor, TenantWorker, TenantSchedule, InjectTenantQueue } from './decorators.js';
export type { TenantProcessorOptions, TenantWorkerOptions, TenantScheduleOptions } from './decorators.js';
export { TENANT_JOBS_OPTIONS, tenantQueueToken } from './tenant-jobs.constants.js';
