import { Injectable } from '@nestjs/common';
import { ErrorCodes, isTenantryError, TenantryError, type Tenancy, type Tenant } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import { TENANT_SERVER } from '../../../../../../tenant-server.js';
import { tenantDatabase, type TenantDatabase } from './tenant-database.js';

/** What `createTenantDatabase()` takes, as in seed 001. */
export interface CreateTenantDatabaseInput {
  /** The tenant's slug (3–63 lowercase letters, digits, hyphens). */
  readonly tenantId: string;
  /** A display name; the tenantId when absent. */
  readonly name?: string;
  /** The database's name, e.g. `tenant_abc123`; Tenantry's generated `t_<id>` when absent. */
  readonly databaseName?: string;
}

const ACTOR = 'tenant-database-provisioning';

/** Tenantry's refusal of a physical name, worded with the seed's field name, `databaseName`. */
function asDatabaseNameError(err: unknown): unknown {
  if (!isTenantryError(err, ErrorCodes.INVALID_ARGUMENT) || !/physicalName|the new physical name/.test(err.message)) return err;
  const message = err.message.replaceAll('the new physical name', 'databaseName').replaceAll('physicalName', 'databaseName');
  return new TenantryError(ErrorCodes.INVALID_ARGUMENT, message, { cause: err, context: err.context });
}

/**
 * Seed 001's `TenantDatabaseProvisioningTypeormService`: creates, deletes and renames tenant
 * databases. The seed ran `CREATE DATABASE`, its migrations and the `tenant_databases` status
 * updates itself; here each is one step of Tenantry's lifecycle — crash-safe, under the tenant's
 * lifecycle lock, written to its activity log, names validated and quoted by Tenantry's rules.
 */
@Injectable()
export class TenantDatabaseProvisioningTypeormService {
  constructor(@InjectTenancy() private readonly tenancy: Tenancy) {}

  /**
   * Registers the tenant, creates its database on the tenants' server (named `databaseName` when
   * given) and its own role, and applies the tenant migrations: ACTIVE when it returns.
   * `TENANT_EXISTS` when the tenantId or the database name is taken; `INVALID_ARGUMENT` (worded
   * with `databaseName`) for a name the rules refuse.
   */
  async createTenantDatabase(input: CreateTenantDatabaseInput): Promise<TenantDatabase> {
    const tenant = await this.tenancy.tenants
      .create(
        {
          slug: input.tenantId,
          name: input.name ?? input.tenantId,
          isolation: 'database',
          server: TENANT_SERVER,
          ...(input.databaseName === undefined ? {} : { physicalName: input.databaseName }),
        },
        { actor: ACTOR },
      )
      .catch((err: unknown) => {
        throw asDatabaseNameError(err);
      });
    return await this.#record(tenant);
  }

  /** Drops the tenant's database; the registry keeps the record, DELETED, and the tenantId is free again. */
  async deleteTenantDatabase(tenantId: string): Promise<void> {
    await this.tenancy.tenants.delete(tenantId, { actor: ACTOR });
  }

  /**
   * Renames the tenant's database (`ALTER DATABASE … RENAME`) and its role: connections to it are
   * drained first, the registry and routing follow at once. The tenant keeps its id, data and status.
   */
  async updateTenantDatabaseName(tenantId: string, newDatabaseName: string): Promise<TenantDatabase> {
    const renamed = await this.tenancy.tenants.renamePhysical(tenantId, newDatabaseName, { actor: ACTOR }).catch((err: unknown) => {
      throw asDatabaseNameError(err);
    });
    return await this.#record(renamed);
  }

  /** The tenant's record, by id or tenantId (a DELETED tenant by its id only). */
  async getTenantDatabase(tenantId: string): Promise<TenantDatabase> {
    return await this.#record(await this.tenancy.tenants.get(tenantId));
  }

  /** Every tenant's record, but those DELETED. */
  async listTenantDatabases(): Promise<TenantDatabase[]> {
    const withReplica = new Set((await this.tenancy.servers.list()).filter((s) => s.replicaHost !== null).map((s) => s.id));
    const all: TenantDatabase[] = [];
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await this.tenancy.tenants.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      for (const t of page.items) if (t.status !== 'DELETED') all.push(tenantDatabase(t, withReplica.has(t.server)));
      cursor = page.nextCursor;
    }
    return all;
  }

  async #record(tenant: Tenant): Promise<TenantDatabase> {
    const server = await this.tenancy.servers.get(tenant.server);
    return tenantDatabase(tenant, server.replicaHost !== null);
  }
}
