export { TenancyMetricsModule } from './tenancy-metrics.module.js';
export { TenancyMetrics, DEFAULT_DURATION_BUCKETS } from './tenancy-metrics.js';
export type { TenancyMetricsOptions } from './tenancy-metrics.js';
export type { TenancyMetricsModuleOptions } from './tenancy-metrics.interfaces.js';
export { tenancyMetricsController } from './tenancy-metrics.controller.js';
export { TenantUsage } from './tenant-usage.js';
export type { TenantUsageEntry, TenantUsageOrder } from './tenant-usage.js';
