import type pg from 'pg';
import type { Migration } from './migrations/migration-source.js';
import type { AppliedMigration } from './migrations/tenant-ledger.js';
import type { RoutePrefix } from './tenant-query.js';
import type { IsolationKind, Tenant } from './types.js';

/**
 * How a tenant's data is kept apart. One interface; `schema` now, `database` next, row-level
 * security later.
 */
export interface IsolationStrategy {
  readonly kind: IsolationKind;
  /**
   * Creates the tenant's container and applies every migration, on `client` inside the caller's
   * transaction, so that a failure leaves nothing behind.
   */
  provision(client: pg.ClientBase, tenant: Tenant, migrations: readonly Migration[]): Promise<AppliedMigration[]>;
  /**
   * Points `client` (inside a transaction) at the tenant for administrative work such as
   * migrations: afterwards unqualified names resolve in the tenant.
   */
  enter(client: pg.ClientBase, tenant: Tenant): Promise<void>;
  /** Drops the tenant's container and everything in it. Idempotent. */
  drop(client: pg.ClientBase, tenant: Tenant): Promise<void>;
  /** What every statement of a unit of work sets before it runs. */
  routePrefix(tenant: Tenant, readOnly: boolean): RoutePrefix;
}
