export { TypeormAdapter, typeormTenancy, tenantManager, tenantRepository } from './typeorm-adapter.js';
export type { TypeormTenancyHost, TypeormTenancyOptions } from './typeorm-adapter.js';
export { typeormMigrations, inlineParameters } from './typeorm-migrations.js';
export { TenantKeyedResultCache, cacheKeyPrefix } from './typeorm-result-cache.js';
export type { TypeormMigration, TypeormMigrationsOptions } from './typeorm-migrations.js';
export { generateTenantMigration, unqualifySchema } from './typeorm-generate.js';
export type { GenerateTenantMigrationOptions, GeneratedTenantMigration } from './typeorm-generate.js';
