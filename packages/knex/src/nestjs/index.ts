export { TenantryKnexModule } from './knex.module.js';
export { KNEX, KNEX_ADAPTER } from './knex.constants.js';
export { InjectKnex, InjectKnexAdapter } from './knex.decorators.js';
