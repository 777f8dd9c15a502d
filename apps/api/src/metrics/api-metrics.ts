import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { TenancyMetrics } from '@tenantry/nestjs/metrics';
import type { FinishedRequest } from '../logging/request-logger.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The service's Prometheus registry, one per application: Node's process metrics
 * (`process_*`, `nodejs_*`), Tenantry's (`tenantry_*`, see `TenancyMetrics`) and HTTP requests
 * by route pattern — never by path or tenant, so the series stay few.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly tenancy: TenancyMetrics;
  readonly #requests: Histogram<'method' | 'route' | 'status'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.tenancy = new TenancyMetrics({ registry: this.registry });
    this.#requests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status, and their duration',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  /** Records a finished request (from the request logger). */
  readonly observeRequest = (r: FinishedRequest): void => {
    this.#requests.observe(
      { method: METHODS.has(r.method) ? r.method : 'OTHER', route: r.route ?? '(unmatched)', status: String(r.status) },
      r.durationMs / 1000,
    );
  };
}
