export { DrizzleAdapter, drizzleTenancy, tenantDb } from './drizzle-adapter.js';
export type { DrizzleTenancyOptions, TenantDrizzle } from './drizzle-adapter.js';
export { drizzleMigrations, unqualifyPublic } from './drizzle-migrations.js';
export { TenantKeyedCache, cacheKeyPrefix } from './drizzle-result-cache.js';
export type { DrizzleMigrationsOptions } from './drizzle-migrations.js';
