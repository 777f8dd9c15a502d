import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Tenancy } from '@tenantry/core';
import { requestTenancy, SKIP_TENANCY, TENANCY } from '@tenantry/nestjs';
import { ApiMetrics } from '../metrics/api-metrics.js';

/** One tenant's bucket: tokens left (a request costs one) and when it was last refilled. */
interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before full ones (tenants idle for a second or more) are dropped. */
const MAX_BUCKETS = 10_000;

/**
 * Token buckets per tenant: `rate` tokens a second, holding at most one second's worth (a
 * burst of `rate` requests), in process memory — each API process limits on its own, so N
 * processes allow N × the plan's rate. Kept small: a bucket is two numbers, and full buckets
 * are dropped when there are many.
 */
export class TenantRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Takes one token of a tenant's bucket.
   * @returns 0 when the request may go, else the seconds until a token is there (≥ 1, for `Retry-After`).
   */
  take(tenant: string, rate: number): number {
    const now = this.#now();
    let bucket = this.#buckets.get(tenant);
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#sweep(now, rate);
      bucket = { tokens: Math.max(1, rate), at: now };
      this.#buckets.set(tenant, bucket);
    } else {
      bucket.tokens = Math.min(Math.max(1, rate), bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
  }

  /** Drops buckets idle long enough to be full again (one second of refill covers any bucket). */
  #sweep(now: number, rate: number): void {
    for (const [tenant, bucket] of this.#buckets) if (now - bucket.at >= 1000 || bucket.tokens >= rate) this.#buckets.delete(tenant);
  }
}

/**
 * Global guard: a tenant route's request counts against its tenant's plan's `requestsPerSecond`
 * (`TENANTRY_PLANS`); beyond it, 429 `TOO_MANY_REQUESTS` with `Retry-After`. Routes without a
 * tenant (`@SkipTenancy()`: admin, tenants, health) and plans without a rate are not limited. The
 * plan is read from the tenant as the registry cache has it, so a plan change applies at once.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  readonly #tenancy: Tenancy;
  readonly #reflector: Reflector;
  readonly #metrics: ApiMetrics;
  readonly #limiter = new TenantRateLimiter();

  constructor(@Inject(TENANCY) tenancy: Tenancy, @Inject(Reflector) reflector: Reflector, @Inject(ApiMetrics) metrics: ApiMetrics) {
    this.#tenancy = tenancy;
    this.#reflector = reflector;
    this.#metrics = metrics;
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<object>();
    const tenant = requestTenancy(req)?.tenant;
    if (tenant === undefined) return true;
    if (this.#reflector.getAllAndOverride<boolean | undefined>(SKIP_TENANCY, [context.getHandler(), context.getClass()]) === true)
      return true;
    const plan = this.#tenancy.plans.of(tenant);
    if (plan.requestsPerSecond === undefined) return true;
    const retryAfterSeconds = this.#limiter.take(tenant.id, plan.requestsPerSecond);
    if (retryAfterSeconds === 0) return true;
    this.#metrics.rateLimited(plan.name);
    throw new HttpException(
      {
        code: 'TOO_MANY_REQUESTS',
        message: `tenant '${tenant.slug}' is over its plan's request rate (${plan.requestsPerSecond} per second, plan '${plan.name}'); retry after ${retryAfterSeconds} s`,
        retryAfterSeconds,
      },
      429,
    );
  }
}
