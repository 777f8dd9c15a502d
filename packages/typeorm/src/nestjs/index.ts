export { tenantryTypeOrm, outsideTenancy } from './tenantry-typeorm.js';
export type { TenantryTypeOrmOptions, TenantryTypeOrmAsyncOptions, TenantryTypeOrmModuleOptions } from './tenantry-typeorm.js';
