import type { Tenant } from '@tenantry/core';

/**
 * Seed 001's `TenantDatabaseStatusEnum` (PROVISIONING, ACTIVE, FAILED) is Tenantry's tenant
 * status, which also has SUSPENDED, MIGRATING, MIGRATION_FAILED, DELETING and DELETED.
 */
export type TenantDatabaseStatus = Tenant['status'];

/**
 * Seed 001's `tenant_databases` record (`TenantDatabaseTypeormEntity`), read from Tenantry's
 * registry in the master database: the seed kept this row up to date by hand, Tenantry writes
 * it at each lifecycle step.
 */
export interface TenantDatabase {
  /** The registry's id of the tenant (a uuid). */
  readonly id: string;
  /** The seed's `tenantId`: the tenant's slug, given at creation. */
  readonly tenantId: string;
  readonly name: string;
  /** The tenant's database. */
  readonly databaseName: string;
  /**
   * The database reads go to: the same name on the server's read replica when it has one, else on
   * the primary (`readServer` says which).
   */
  readonly readDatabaseName: string;
  /** `<server>:replica` when reads go to a replica, `<server>` when they stay on the primary. */
  readonly readServer: string;
  readonly status: TenantDatabaseStatus;
  /** The last tenant migration applied to the database. */
  readonly schemaVersion: string | null;
  readonly lastMigrationAt: Date | null;
  /** Why the tenant is FAILED or MIGRATION_FAILED. */
  readonly errorMessage: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The record of `tenant`, whose server has a read replica or not. */
export function tenantDatabase(tenant: Tenant, hasReplica: boolean): TenantDatabase {
  return {
    id: tenant.id,
    tenantId: tenant.slug,
    name: tenant.name,
    databaseName: tenant.physicalName,
    readDatabaseName: tenant.physicalName,
    readServer: hasReplica ? `${tenant.server}:replica` : tenant.server,
    status: tenant.status,
    schemaVersion: tenant.schemaVersion,
    lastMigrationAt: tenant.lastMigrationAt,
    errorMessage: tenant.errorMessage,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  };
}
