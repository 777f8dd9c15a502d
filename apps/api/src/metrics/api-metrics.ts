import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Tenancy, TenantShareStats } from '@tenantry/core';
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
  readonly #rateLimited: Counter<'plan'>;
  #tenancy: Tenancy | undefined;

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
    this.#rateLimited = new Counter({
      name: 'tenantry_rate_limited_requests_total',
      help: "Requests refused with 429 TOO_MANY_REQUESTS: over the tenant's plan's requestsPerSecond, by plan",
      labelNames: ['plan'] as const,
      registers: [this.registry],
    });
    // Read from the pools at scrape time; by server and plan (a few), never by tenant.
    const tenancy = (): Tenancy | undefined => this.#tenancy;
    const perPlan = (name: string, help: string, pick: (t: TenantShareStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['server', 'plan'] as const,
        registers: [this.registry],
        collect(this: Gauge<'server' | 'plan'>) {
          this.reset();
          for (const server of tenancy()?.stats().servers ?? []) {
            const sums = new Map<string, number>();
            for (const t of server.tenants) sums.set(t.plan, (sums.get(t.plan) ?? 0) + pick(t));
            for (const [plan, n] of sums) this.set({ server: server.server, plan }, n);
          }
        },
      });
    };
    perPlan('tenantry_plan_connections_in_use', "Connections held by tenants, by server and the tenants' plan", (t) => t.inUse);
    perPlan('tenantry_plan_tenants_at_share', 'Tenants holding their connection share or more, by server and plan', (t) =>
      t.inUse >= t.share ? 1 : 0,
    );
    perPlan('tenantry_plan_waiting', 'Callers waiting for a connection, by server and the plan of their tenant', (t) => t.waiting);
  }

  /** Reports the tenancy's per-plan pool figures at each scrape. */
  watchPlans(tenancy: Tenancy): Tenancy {
    this.#tenancy = tenancy;
    return tenancy;
  }

  /** Counts a request refused for its tenant's plan's rate. */
  rateLimited(plan: string): void {
    this.#rateLimited.inc({ plan });
  }

  /** Records a finished request (from the request logger). */
  readonly observeRequest = (r: FinishedRequest): void => {
    this.#requests.observe(
      { method: METHODS.has(r.method) ? r.method : 'OTHER', route: r.route ?? '(unmatched)', status: String(r.status) },
      r.durationMs / 1000,
    );
  };
}
