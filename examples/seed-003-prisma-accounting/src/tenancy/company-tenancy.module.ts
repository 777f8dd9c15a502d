import { Global, Module } from '@nestjs/common';
import { PlanController } from './plan.controller.js';
import { PlanLimitsService } from './plan-limits.service.js';
import { TenantPrismaService } from './tenant-prisma.service.js';
import { TenantProvisioningService } from './tenant-provisioning.service.js';
import { TenantsController } from './tenants.controller.js';

/**
 * Seed 003's global `TenancyModule`: `TenantPrismaService`, `TenantProvisioningService`, and
 * here the plan limits. The seed's `RegistryPrismaService` and `PrismaClientManager` are
 * Tenantry's registry and `TenantryPrismaModule` (see `app.module.ts`).
 */
@Global()
@Module({
  controllers: [TenantsController, PlanController],
  providers: [TenantPrismaService, TenantProvisioningService, PlanLimitsService],
  exports: [TenantPrismaService, PlanLimitsService],
})
export class CompanyTenancyModule {}
