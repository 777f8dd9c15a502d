import type { TenancyMetrics, TenancyMetricsOptions } from './tenancy-metrics.js';

/** Options of `TenancyMetricsModule.forRoot()`. */
export interface TenancyMetricsModuleOptions extends TenancyMetricsOptions {
  /**
   * A {@link TenancyMetrics} you created — to pass its `onUnitOfWork` to `createTenancy` or
   * `TenancyModule.forRoot()` yourself. The module then ignores the other metric options and
   * leaves its metrics registered at shutdown. Default: the module creates one.
   */
  readonly metrics?: TenancyMetrics;
  /** Route of the scrape endpoint (`@SkipTenancy()`, no guard). Default `metrics`; `false`: no route. */
  readonly path?: string | false;
}
