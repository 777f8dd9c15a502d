export { BullMqJobs, TenantQueue, tenantProcessor } from './bullmq-jobs.js';
export type { BullMqJobsOptions, BullMqQueueOptions, ForTenant } from './bullmq-jobs.js';
