import type { Tenant } from '@tenantry/core';

/** Seed 003's plans, kept in the registry's `plan` field of each company. */
export const PLANS = ['STARTER', 'BUSINESS', 'ENTERPRISE'] as const;
export type Plan = (typeof PLANS)[number];

/** What a plan allows; `null` is no limit. */
export interface PlanLimits {
  /** Users of the company (`/:tenantSlug/users`). */
  readonly users: number | null;
  /** Accounts of its chart, the 16 seeded ones included (`/:tenantSlug/accounts`). */
  readonly accounts: number | null;
}

/**
 * The limits of each plan. The seed names the plans ("Plan-based limits (STARTER, BUSINESS,
 * ENTERPRISE)") but gives no figures; these are this example's.
 */
export const PLAN_LIMITS: Readonly<Record<Plan, PlanLimits>> = Object.freeze({
  STARTER: { users: 3, accounts: 30 },
  BUSINESS: { users: 25, accounts: 200 },
  ENTERPRISE: { users: null, accounts: null },
});

export function isPlan(value: unknown): value is Plan {
  return typeof value === 'string' && (PLANS as readonly string[]).includes(value);
}

/** A company's plan: the registry's `plan`, STARTER when it has none (created outside this API). */
export function planOf(tenant: Pick<Tenant, 'plan'>): Plan {
  return isPlan(tenant.plan) ? tenant.plan : 'STARTER';
}

/** The next plan that allows more of `resource`, for the upgrade hint. */
export function upgradeFor(plan: Plan, resource: keyof PlanLimits): Plan | undefined {
  const current = PLAN_LIMITS[plan][resource];
  return PLANS.slice(PLANS.indexOf(plan) + 1).find((p) => {
    const limit = PLAN_LIMITS[p][resource];
    return limit === null || (current !== null && limit > current);
  });
}
