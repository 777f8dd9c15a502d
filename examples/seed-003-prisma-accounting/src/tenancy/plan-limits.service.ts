import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { currentTenant } from '@tenantry/core';
import type { Prisma } from '../generated/prisma/client.js';
import { PLAN_LIMITS, planOf, upgradeFor, type Plan, type PlanLimits } from './plans.js';
import { TenantPrismaService } from './tenant-prisma.service.js';

/** What a plan limits. */
export type LimitedResource = keyof PlanLimits;

/** 402 `PLAN_LIMIT_REACHED`: the company's plan allows no more of a resource. */
export class PlanLimitReachedException extends HttpException {
  constructor(plan: Plan, resource: LimitedResource, limit: number, used: number) {
    const upgrade = upgradeFor(plan, resource);
    const next = upgrade === undefined ? '' : `; the ${upgrade} plan allows ${PLAN_LIMITS[upgrade][resource] ?? 'unlimited'}`;
    super(
      { code: 'PLAN_LIMIT_REACHED', message: `the ${plan} plan allows ${limit} ${resource} and this company has ${used}${next}` },
      HttpStatus.PAYMENT_REQUIRED,
    );
  }
}

/** Serialises the creations of one resource in the company's database and counts what exists. */
const GUARDS: Record<LimitedResource, (tx: Prisma.TransactionClient) => Promise<number>> = {
  users: async (tx) => {
    await tx.$executeRaw`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`;
    return await tx.user.count();
  },
  accounts: async (tx) => {
    await tx.$executeRaw`LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE`;
    return await tx.account.count();
  },
};

/**
 * Enforces the company's plan (the registry's `plan` of the request's tenant) when something
 * limited is created. The count and the insert run in one transaction of the company's database
 * that holds a lock only inserts into the same table wait for, so concurrent requests cannot
 * both take the last place.
 */
@Injectable()
export class PlanLimitsService {
  constructor(private readonly prisma: TenantPrismaService) {}

  /** The plan of the request's company, its limits and what it uses. */
  async usage(): Promise<{ plan: Plan; limits: PlanLimits; usage: Record<LimitedResource, number> }> {
    const plan = planOf(currentTenant()!);
    const [users, accounts] = await Promise.all([this.prisma.user.count(), this.prisma.account.count()]);
    return { plan, limits: PLAN_LIMITS[plan], usage: { users, accounts } };
  }

  /**
   * Runs `create` in a transaction after checking that the plan allows one more `resource`;
   * throws {@link PlanLimitReachedException} (402) otherwise.
   */
  async create<T>(resource: LimitedResource, create: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    const plan = planOf(currentTenant()!);
    const limit = PLAN_LIMITS[plan][resource];
    return await this.prisma.$transaction(async (tx) => {
      const count = await GUARDS[resource](tx);
      if (limit !== null && count >= limit) throw new PlanLimitReachedException(plan, resource, limit, count);
      return await create(tx);
    });
  }
}
