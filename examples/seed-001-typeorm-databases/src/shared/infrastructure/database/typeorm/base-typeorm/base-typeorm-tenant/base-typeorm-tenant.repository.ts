import type { DataSource, EntityManager } from 'typeorm';
import type { TypeormTenantService } from '../../services/typeorm-tenant/typeorm-tenant.service.js';

/**
 * Seed 001's `BaseTypeormTenantRepository`: extend it for repositories of tenant data. The seed's
 * `getTenantDataSource()` looked up the request's tenant and its DataSource; here the one
 * DataSource already runs in the request's tenant, and `read()` / `write()` say which database a
 * method uses — the read database or the primary.
 */
export abstract class BaseTypeormTenantRepository {
  protected constructor(protected readonly typeormTenantService: TypeormTenantService) {}

  protected getTenantDataSource(): DataSource {
    return this.typeormTenantService.getTenantDataSource();
  }

  /** On the tenant's read database (read-only). */
  protected read<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.typeormTenantService.read(fn);
  }

  /** On the tenant's database, in one transaction. */
  protected write<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.typeormTenantService.write(fn);
  }
}
