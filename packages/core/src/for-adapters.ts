/**
 * `@tenantry/core/adapter`: what an ORM adapter package needs of core and an application does
 * not — the adapter contract, the client and pool an ORM is given, the registry behind an
 * adapter's context-free accessor, and the SQL tokenizer for reading an ORM's migrations.
 * Applications import `@tenantry/core`.
 */
export { currentUnitOfWork, currentTenancyOwner } from './adapter.js';
export type { TenancyAdapter, AdapterCapabilities, OrmClient, OrmPool, UnitOfWorkProvider } from './adapter.js';
export { ormClient, callbackOrPromise } from './orm-client.js';
export { tenantPool, checkOutClient } from './tenant-pool.js';
export type { TenantPoolOptions } from './tenant-pool.js';
export { adapterRegistry } from './adapter-registry.js';
export type { AdapterRegistry, AdapterRegistryOptions } from './adapter-registry.js';
export { sqlTokens, type SqlToken } from './migrations/sql-tokens.js';
export { unqualifyPublic } from './migrations/unqualify-public.js';
export { markManagedHandle, managedHandleOrm, isOutsideTenancy, OUTSIDE_TENANCY } from './managed-handles.js';
