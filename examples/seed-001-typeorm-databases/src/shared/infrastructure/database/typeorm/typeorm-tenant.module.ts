import { Global, Module } from '@nestjs/common';
import { TenantDatabaseProvisioningTypeormService } from './services/tenant-database-provisioning/tenant-database-provisioning-typeorm.service.js';
import { TypeormTenantService } from './services/typeorm-tenant/typeorm-tenant.service.js';

/** Seed 001's TypeORM infrastructure services, for every module. */
@Global()
@Module({
  providers: [TypeormTenantService, TenantDatabaseProvisioningTypeormService],
  exports: [TypeormTenantService, TenantDatabaseProvisioningTypeormService],
})
export class TypeormTenantModule {}
