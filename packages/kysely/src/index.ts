export { KyselyAdapter, kyselyTenancy, tenantKysely } from './kysely-adapter.js';
export type { KyselyTenancyOptions } from './kysely-adapter.js';
export { kyselyMigrations } from './kysely-migrations.js';
export type { KyselyMigration, KyselyMigrationsOptions } from './kysely-migrations.js';
