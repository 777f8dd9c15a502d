import { BadRequestException, Injectable } from '@nestjs/common';
import type { ActivityEntry, Tenancy, Tenant } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import { isPlan, PLAN_LIMITS, PLANS, planOf, type Plan, type PlanLimits } from './plans.js';

/** First path segments that are routes, never a company (`path({ exclude })` in `app.module.ts`). */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set(['health', 'auth', 'tenants', 'admin']);

/** A company as `/tenants` answers it: seed 003's `Tenant` record, without credentials. */
export interface Company {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly plan: Plan;
  readonly limits: PlanLimits;
  readonly status: Tenant['status'];
  /** Its database: Tenantry's generated `t_<id without hyphens>` (seed 003's was `nusa_journal_<slug>`). */
  readonly database: string;
  /** The last migration applied in its database. */
  readonly schemaVersion: string | null;
  readonly createdAt: Date;
}

export function company(t: Tenant): Company {
  const plan = planOf(t);
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    plan,
    limits: PLAN_LIMITS[plan],
    status: t.status,
    database: t.physicalName,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
  };
}

/** One entry of a company's activity log, as `/tenants/:slug/activity` answers it. */
export interface Activity {
  readonly action: string;
  readonly fromStatus: string | null;
  readonly toStatus: string | null;
  readonly actor: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly error: string | null;
  readonly createdAt: Date;
}

function activity(a: ActivityEntry): Activity {
  return {
    action: a.action,
    fromStatus: a.fromStatus,
    toStatus: a.toStatus,
    actor: a.actor,
    detail: a.detail,
    error: a.error,
    createdAt: a.createdAt,
  };
}

function checkPlan(plan: unknown): Plan {
  if (!isPlan(plan)) throw new BadRequestException({ code: 'INVALID_PLAN', message: `plan must be one of ${PLANS.join(', ')}` });
  return plan;
}

/**
 * Seed 003's `TenantProvisioningService`. The seed's workflow — registry row (PROVISIONING),
 * `CREATE DATABASE nusa_journal_<slug>` and its user, Prisma migrations (MIGRATING), the default
 * chart of accounts (a TODO there), ACTIVE, with a clean-up and SUSPENDED on failure — is one
 * crash-safe `tenancy.tenants.create()`: a failure leaves no database and no row behind, and
 * every step is in the company's activity log.
 */
@Injectable()
export class TenantProvisioningService {
  constructor(@InjectTenancy() private readonly tenancy: Tenancy) {}

  /** `provisionTenant({ slug, name, plan })`: the database, its migrations and its chart of accounts. */
  async provisionTenant(input: { slug: string; name: string; plan?: string | undefined }, actor?: string): Promise<Company> {
    if (RESERVED_SLUGS.has(input.slug))
      throw new BadRequestException({ code: 'RESERVED_SLUG', message: `'${input.slug}' is a route of this API, not a company slug` });
    const plan = checkPlan(input.plan ?? 'STARTER');
    const tenant = await this.tenancy.tenants.create(
      { slug: input.slug, name: input.name, plan, isolation: 'database' },
      actor === undefined ? {} : { actor },
    );
    return company(tenant);
  }

  async list(): Promise<Company[]> {
    const all: Company[] = [];
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await this.tenancy.tenants.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page.items.map(company));
      cursor = page.nextCursor;
    }
    return all;
  }

  async get(slug: string): Promise<Company> {
    return company(await this.tenancy.tenants.get(slug));
  }

  /** Changes the company's plan and/or name; the limits apply from its next request. */
  async update(slug: string, patch: { plan?: string | undefined; name?: string | undefined }, actor?: string): Promise<Company> {
    const change = {
      ...(patch.plan === undefined ? {} : { plan: checkPlan(patch.plan) }),
      ...(patch.name === undefined ? {} : { name: patch.name }),
    };
    return company(await this.tenancy.tenants.update(slug, change, actor === undefined ? {} : { actor }));
  }

  async suspend(slug: string, actor?: string): Promise<Company> {
    return company(await this.tenancy.tenants.suspend(slug, actor === undefined ? {} : { actor }));
  }

  async resume(slug: string, actor?: string): Promise<Company> {
    return company(await this.tenancy.tenants.resume(slug, actor === undefined ? {} : { actor }));
  }

  /** The company's activity log (seed 003's `tenant_activities`), oldest first. */
  async activity(slug: string): Promise<Activity[]> {
    return (await this.tenancy.tenants.activity(slug)).map(activity);
  }
}
