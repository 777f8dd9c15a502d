import type pg from 'pg';
import type { ConnectTarget } from './connection-router.js';
import type { RoutePrefix } from './tenant-query.js';
import type { IsolationKind, Tenant } from './types.js';

/**
 * How a tenant's data is kept apart. One interface; `schema` and `database` now, row-level
 * security later. Provisioning itself lives in the tenants API, which drives these steps.
 */
export interface IsolationStrategy {
  readonly kind: IsolationKind;
  /** Where the tenant's connections go. */
  target(tenant: Tenant, readOnly: boolean): ConnectTarget;
  /**
   * Points `client` (a connection from {@link target}, inside a transaction) at the tenant for
   * administrative work such as migrations: afterwards unqualified names resolve in the tenant.
   */
  enter(client: pg.ClientBase, tenant: Tenant): Promise<void>;
  /** What every statement of a unit of work sets before it runs. */
  routePrefix(tenant: Tenant, readOnly: boolean): RoutePrefix;
  /** Whether the tenant's schema or database exists, checked on `client` (the server's own database). */
  exists(client: pg.ClientBase, tenant: Tenant): Promise<boolean>;
  /**
   * Gives the tenant's role access to what migrations (run by the application's role) created.
   * Called after every migration batch, on a connection from {@link target}.
   */
  grantAccess(client: pg.ClientBase, tenant: Tenant): Promise<void>;
  /** Makes `role` the owner of an existing tenant's container and everything in it (tenants created before roles). */
  adopt(tenant: Tenant, role: string): Promise<void>;
  /** Drops the tenant's container (and its role) and everything in it. Idempotent. */
  drop(tenant: Tenant): Promise<void>;
  /** Every container on a server named like a tenant's, with its registry marker (its COMMENT), to find orphans. */
  containers(client: pg.ClientBase): Promise<{ name: string; marker: string | null }[]>;
}

/** Tenantry's physical names: `t_` and the id's 32 hex digits. */
export const PHYSICAL_NAME = '^t_[0-9a-f]{32}$';
