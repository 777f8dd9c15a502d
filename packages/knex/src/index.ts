export { KnexAdapter, knexTenancy, tenantKnex } from './knex-adapter.js';
export type { KnexTenancyOptions } from './knex-adapter.js';
export { knexMigrations } from './knex-migrations.js';
export type { KnexMigration, KnexMigrationsOptions } from './knex-migrations.js';
