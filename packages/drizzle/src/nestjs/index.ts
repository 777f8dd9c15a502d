export { TenantryDrizzleModule } from './drizzle.module.js';
export { DRIZZLE, DRIZZLE_ADAPTER } from './drizzle.constants.js';
export { InjectDrizzle, InjectDrizzleAdapter } from './drizzle.decorators.js';
