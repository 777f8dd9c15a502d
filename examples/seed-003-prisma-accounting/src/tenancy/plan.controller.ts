import { Controller, Get } from '@nestjs/common';
import type { PlanLimits, Plan } from './plans.js';
import { PlanLimitsService, type LimitedResource } from './plan-limits.service.js';

/** `GET /:tenantSlug/plan`: the company's plan, its limits and what it uses of them. */
@Controller(':tenantSlug/plan')
export class PlanController {
  constructor(private readonly limits: PlanLimitsService) {}

  @Get()
  get(): Promise<{ plan: Plan; limits: PlanLimits; usage: Record<LimitedResource, number> }> {
    return this.limits.usage();
  }
}
