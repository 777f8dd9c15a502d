export { PgBossJobs, deferredJobId } from './pg-boss-jobs.js';
export type { PgBossJobsOptions, PgBossQueueOptions, PgBossSendOptions, PgBossWorkOptions } from './pg-boss-jobs.js';
export { TenantGate, outsideTenant } from './tenant-gate.js';
export type { Admission, TenantGateOptions } from './tenant-gate.js';
export { TENANT_KEY, stamp, stampOf } from './job-envelope.js';
export type { TenantStamp, Stamped } from './job-envelope.js';
export { JobStats, JobOutcomes, NO_TENANT } from './job-stats.js';
export type { JobOutcome, OutcomeCounts } from './job-stats.js';
export type { JobContext, JobHandler, TenantQueueFlags } from './job-types.js';
