export { KYSELY, KYSELY_ADAPTER, InjectKysely, InjectKyselyAdapter, KyselyTenancyModule } from './kysely-tenancy.module.js';
export type { KyselyTenancyModuleAsyncOptions } from './kysely-tenancy.module.js';
