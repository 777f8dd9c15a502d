// The backend-free part: the gate, the job envelope, the outcome counters. Each backend has its
// own entry, so that only the queue library you use needs to be installed:
// `@tenantry/jobs/pg-boss`, `@tenantry/jobs/bullmq`; Nest: `@tenantry/jobs/nestjs`.
export { TenantGate, outsideTenant } from './tenant-gate.js';
export type { Admission, TenantGateOptions } from './tenant-gate.js';
export { TENANT_KEY, stamp, stampOf } from './job-envelope.js';
export type { TenantStamp, Stamped } from './job-envelope.js';
export { JobStats, JobOutcomes, NO_TENANT } from './job-stats.js';
export type { JobOutcome, OutcomeCounts } from './job-stats.js';
export type { JobContext, JobHandler, TenantQueueFlags } from './job-types.js';
export { TenantSchedules } from './tenant-schedules.js';
export type {
  TenantScheduleDefinition,
  TenantSchedulesOptions,
  FanOutResult,
  ScheduleTenantResult,
  ScheduleRunRecord,
} from './tenant-schedules.js';
export { persistJobStats, JobStatsStore } from './job-stats-store.js';
export type { JobStatsStoreOptions, QueueOutcomeCounts } from './job-stats-store.js';
