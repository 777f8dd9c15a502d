import { Global, Inject, Module, type BeforeApplicationShutdown, type DynamicModule, type Provider } from '@nestjs/common';
import type { Tenancy } from '@tenantry/core';
import { TENANCY } from '../tenancy.constants.js';
import { tenancyMetricsController } from './tenancy-metrics.controller.js';
import type { TenancyMetricsModuleOptions } from './tenancy-metrics.interfaces.js';
import { TenancyMetrics } from './tenancy-metrics.js';

/** Whether the module created (and so unregisters) the metrics. */
const METRICS_OWNED = Symbol.for('tenantry:nestjs:metrics-owned');

/**
 * Prometheus metrics of the application's tenancy at `GET /metrics` (see {@link TenancyMetrics}
 * for the list). Global: inject `TenancyMetrics` anywhere — in `TenancyModule.forRootAsync`'s
 * factory, to give the tenancy its `onUnitOfWork` hook. Singletons only; no request scope.
 *
 * @example
 * ```ts
 * imports: [
 *   TenancyMetricsModule.forRoot(),
 *   TenancyModule.forRootAsync({
 *     inject: [TenancyMetrics],
 *     useFactory: (metrics: TenancyMetrics) => ({ registryUrl: process.env.DATABASE_URL!, onUnitOfWork: metrics.onUnitOfWork }),
 *   }),
 * ]
 * ```
 */
@Global()
@Module({})
export class TenancyMetricsModule implements BeforeApplicationShutdown {
  readonly #metrics: TenancyMetrics;
  readonly #tenancy: Tenancy;
  readonly #owned: boolean;

  constructor(@Inject(TenancyMetrics) metrics: TenancyMetrics, @Inject(TENANCY) tenancy: Tenancy, @Inject(METRICS_OWNED) owned: boolean) {
    this.#metrics = metrics;
    this.#tenancy = tenancy;
    this.#owned = owned;
    metrics.attach(tenancy);
  }

  static forRoot(options: TenancyMetricsModuleOptions = {}): DynamicModule {
    const { metrics, path = 'metrics', ...metricOptions } = options;
    if (path !== false && (typeof path !== 'string' || path.trim() === ''))
      throw new TypeError('TenancyMetricsModule path must be a route such as "metrics", or false');
    const providers: Provider[] = [
      metrics === undefined
        ? { provide: TenancyMetrics, useFactory: () => new TenancyMetrics(metricOptions) }
        : { provide: TenancyMetrics, useValue: metrics },
      { provide: METRICS_OWNED, useValue: metrics === undefined },
    ];
    return {
      module: TenancyMetricsModule,
      providers,
      exports: [TenancyMetrics],
      controllers: path === false ? [] : [tenancyMetricsController(path)],
    };
  }

  /** Before the tenancy closes: scrapes stop reading it; metrics the module created are unregistered. */
  beforeApplicationShutdown(): void {
    this.#metrics.detach(this.#tenancy);
    if (this.#owned) this.#metrics.unregister();
  }
}
