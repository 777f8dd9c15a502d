import { Controller, Get, Inject, Res, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SkipTenancy } from '../tenancy.decorators.js';
import { TenancyMetrics } from './tenancy-metrics.js';

/**
 * The scrape endpoint at `path`: `GET` answers the registry's metrics in Prometheus text
 * format. No tenant, no guard — expose it to Prometheus only (an internal port, a network
 * policy), as it shows the fleet's figures. One class per call, so the path can be chosen.
 */
export function tenancyMetricsController(path: string): Type<unknown> {
  @SkipTenancy()
  @Controller(path)
  class TenancyMetricsController {
    readonly #metrics: TenancyMetrics;
    readonly #adapterHost: HttpAdapterHost;

    constructor(@Inject(TenancyMetrics) metrics: TenancyMetrics, @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
      this.#metrics = metrics;
      this.#adapterHost = adapterHost;
    }

    @Get()
    async scrape(@Res({ passthrough: true }) res: unknown): Promise<string> {
      const text = await this.#metrics.metrics();
      const adapter = this.#adapterHost.httpAdapter;
      adapter.setHeader(res, 'Content-Type', this.#metrics.contentType);
      adapter.setHeader(res, 'Cache-Control', 'no-store');
      return text;
    }
  }
  return TenancyMetricsController;
}
