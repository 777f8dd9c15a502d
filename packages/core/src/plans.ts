/**
 * Plans: what one tenant may take from the others. A plan is a name (the tenant's `plan`
 * field, already in the registry) and its limits; `createTenancy({ plans })` lists them. The
 * plan of a tenant is looked up on every unit of work from the tenant as the registry cache has
 * it, so `tenants.update(ref, { plan })` takes effect at the next unit of work, in every process
 * (the cache is invalidated on changes), without a restart.
 */
import { invalidArgument } from './errors.js';
import type { Tenant } from './types.js';

/** The limits of one plan. Every limit is optional: a missing one does not limit. */
export interface PlanLimits {
  /**
   * Most connections of a server a tenant of this plan holds at once: a fraction of the
   * server's budget (`0 < x < 1`, rounded down, at least 1) or a count (an integer ≥ 1, at most
   * the budget). While it holds that many, its next unit of work waits — even when connections
   * are free (see docs/operations.md, "Plans"). Default: the whole budget.
   */
  readonly maxConnectionShare?: number;
  /**
   * `statement_timeout` of every statement of the tenant's units of work, in milliseconds
   * (sent with the routing prefix: no round trip). A statement that runs longer fails with
   * PostgreSQL's `57014` (query_canceled). Default: the server's setting.
   */
  readonly statementTimeoutMs?: number;
  /**
   * Requests per second a tenant of this plan may make to an HTTP API that enforces it (the
   * reference API answers `429 TOO_MANY_REQUESTS` beyond it). Tenantry's core does not use it.
   */
  readonly requestsPerSecond?: number;
}

/** A plan as resolved for a tenant: its name (`default` for tenants without a known plan) and limits. */
export interface ResolvedPlan extends PlanLimits {
  readonly name: string;
}

/** The plan of tenants without a plan, or with a plan name not in the options. */
export const DEFAULT_PLAN = 'default';

const LIMITS: ReadonlySet<string> = new Set(['maxConnectionShare', 'statementTimeoutMs', 'requestsPerSecond']);

function checkLimits(name: string, limits: unknown): ResolvedPlan {
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw invalidArgument(`plans.${name} must be an object { maxConnectionShare?, statementTimeoutMs?, requestsPerSecond? }`);
  }
  for (const key of Object.keys(limits)) {
    if (!LIMITS.has(key))
      throw invalidArgument(
        `plans.${name}.${key} is not a plan limit; a plan takes maxConnectionShare, statementTimeoutMs and requestsPerSecond`,
      );
  }
  const l = limits as PlanLimits;
  const share = l.maxConnectionShare;
  if (share !== undefined && !(typeof share === 'number' && ((share > 0 && share < 1) || (Number.isInteger(share) && share >= 1)))) {
    throw invalidArgument(
      `plans.${name}.maxConnectionShare must be a fraction of the budget (0 < x < 1) or a count of connections (an integer ≥ 1), got ${String(share)}`,
    );
  }
  const timeout = l.statementTimeoutMs;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 2_147_483_647)) {
    throw invalidArgument(`plans.${name}.statementTimeoutMs must be an integer number of milliseconds ≥ 1, got ${String(timeout)}`);
  }
  const rps = l.requestsPerSecond;
  if (rps !== undefined && !(typeof rps === 'number' && Number.isFinite(rps) && rps > 0)) {
    throw invalidArgument(`plans.${name}.requestsPerSecond must be a number > 0, got ${String(rps)}`);
  }
  return Object.freeze({
    name,
    ...(share === undefined ? {} : { maxConnectionShare: share }),
    ...(timeout === undefined ? {} : { statementTimeoutMs: timeout }),
    ...(rps === undefined ? {} : { requestsPerSecond: rps }),
  });
}

/**
 * The plans of a tenancy, checked once at start (`INVALID_ARGUMENT` naming the bad limit).
 * `tenancy.plans.of(tenant)` says which limits apply to a tenant.
 */
export class Plans {
  readonly #plans: ReadonlyMap<string, ResolvedPlan>;
  readonly #default: ResolvedPlan;

  /** @param plans - limits per plan name; `default` applies to tenants without a plan or with an unknown one. */
  constructor(plans: Readonly<Record<string, PlanLimits>> | undefined) {
    if (plans !== undefined && (plans === null || typeof plans !== 'object' || Array.isArray(plans))) {
      throw invalidArgument('plans must be an object of limits per plan name, e.g. { default: { maxConnectionShare: 0.5 } }');
    }
    const map = new Map<string, ResolvedPlan>();
    for (const [name, limits] of Object.entries(plans ?? {})) {
      if (name.length === 0 || name.length > 100) throw invalidArgument(`plan names are 1 to 100 characters, got '${name}'`);
      map.set(name, checkLimits(name, limits));
    }
    this.#default = map.get(DEFAULT_PLAN) ?? Object.freeze({ name: DEFAULT_PLAN });
    map.set(DEFAULT_PLAN, this.#default);
    this.#plans = map;
  }

  /** The plan whose limits apply to a tenant: its own, or `default` when it has none or an unknown one. */
  of(tenant: Pick<Tenant, 'plan'>): ResolvedPlan {
    return (tenant.plan === null ? undefined : this.#plans.get(tenant.plan)) ?? this.#default;
  }

  /** Every plan, `default` included. */
  list(): ResolvedPlan[] {
    return [...this.#plans.values()];
  }
}

/**
 * The connections a share allows out of a budget: a fraction is rounded down (at least 1), a
 * count is capped at the budget; no share is the whole budget.
 */
export function connectionShare(share: number | undefined, capacity: number): number {
  if (share === undefined) return capacity;
  if (share < 1) return Math.max(1, Math.floor(share * capacity));
  return Math.min(share, capacity);
}
