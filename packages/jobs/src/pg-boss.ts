export { PgBossJobs, deferredJobId } from './pg-boss-jobs.js';
export type { PgBossJobsOptions, PgBossQueueOptions, PgBossSendOptions, PgBossWorkOptions } from './pg-boss-jobs.js';
