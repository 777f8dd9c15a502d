import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Tenancy } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Seed 001's `TypeormTenantService`. The seed fetched each tenant's database configuration from
 * master and kept a `DataSource` (and a pool) per tenant in its `TypeormTenantFactory`; here there
 * is one DataSource for the application, with no pool of its own: each statement runs in the
 * database of the request's tenant (the `x-tenant-id` header), on Tenantry's bounded pools.
 */
@Injectable()
export class TypeormTenantService {
  constructor(
    @InjectTenancy() private readonly tenancy: Tenancy,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** The application's DataSource: its repositories and managers work in the current tenant's database. */
  getTenantDataSource(): DataSource {
    return this.dataSource;
  }

  /**
   * Runs `fn` on the tenant's **read database**: one read-only unit of work on the server's read
   * replica (the primary when the server has none), whose statements cannot write (SQLSTATE 25006).
   */
  async read<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return await this.tenancy.withTenant(() => fn(this.dataSource.manager), { readOnly: true });
  }

  /** Runs `fn` on the tenant's database (the primary), in one transaction. */
  async write<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return await this.dataSource.transaction(fn);
  }

  /** Whether the tenant exists and its database serves requests (ACTIVE). */
  async isTenantDatabaseActive(tenantId: string): Promise<boolean> {
    try {
      return (await this.tenancy.tenants.get(tenantId)).status === 'ACTIVE';
    } catch {
      return false;
    }
  }
}
