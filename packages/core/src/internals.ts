/**
 * The parts of a running tenancy, built once by `createTenancy()` (create-tenancy.ts), frozen,
 * and handed to every service: the tenants API, the migrator, the servers API, `reconcile()`,
 * tenant resolution and the unit of work. One object instead of a dependency bag per service,
 * so that a new collaborator is added in one place.
 *
 * Internal: not exported from the package. Applications reach these parts through `Tenancy`.
 */
import type { AdminPool, ConnectionRouter } from './connection-router.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import type { LifecycleLock } from './lifecycle-lock.js';
import type { Logger } from './logger.js';
import type { MigrationSource } from './migrations/migration-source.js';
import type { PendingTenantPool } from './pending-tenants.js';
import type { Plans } from './plans.js';
import type { TenantCache } from './registry/registry-cache.js';
import type { RegistryListener } from './registry/registry-listener.js';
import type { SharedTables } from './shared-tables.js';
import type { ServerRegistry } from './registry/server-registry.js';
import type { TenantRegistry } from './registry/tenant-registry.js';
import type { IsolationKind, Tenant } from './types.js';
import type { UnitOfWorkEvent } from './unit-of-work.js';

/**
 * Points in provisioning and deletion, reported to `onLifecycleStep` (logging, metrics, crash tests).
 * A database tenant also reports the statements of its container: `role-created`,
 * `database-created` (before it is closed to PUBLIC and marked), `database-secured` (before its
 * migrations, privileges and seeds). A physical rename reports `rename-marked` (pending in the
 * registry), `container-renamed` (renamed on the server) and `renamed`.
 */
export type LifecycleStep =
  | 'registered'
  | 'role-created'
  | 'database-created'
  | 'database-secured'
  | 'container-created'
  | 'provisioned'
  | 'delete-marked'
  | 'container-dropped'
  | 'deleted'
  | 'rename-marked'
  | 'container-renamed'
  | 'renamed';

/** The id of the registry's own server in the fleet. */
export const REGISTRY_SERVER = 'default';

/** Everything a tenancy's services share. Frozen. */
export interface TenancyInternals {
  /** The id of the server whose database holds the registry ({@link REGISTRY_SERVER}). */
  readonly registryServer: string;
  /** `tenantry:<registry id>`: the COMMENT on this registry's schemas and databases. */
  readonly marker: string;
  /** Every pool of every server, under one budget per server. */
  readonly router: ConnectionRouter;
  /** The registry database's pool. */
  readonly registryDb: AdminPool;
  readonly registry: TenantRegistry;
  readonly serverRegistry: ServerRegistry;
  readonly cache: TenantCache;
  /** LISTENs for other processes' registry changes; undefined with `listen: false`. */
  readonly listener: RegistryListener | undefined;
  /** The isolation strategy of a kind: the only place that knows what a kind means. */
  readonly strategyFor: (kind: IsolationKind) => IsolationStrategy;
  /** Every isolation strategy (to look for containers of any kind). */
  readonly strategies: readonly IsolationStrategy[];
  /** The lifecycle lock and its slots (provisioning, deletion, reconcile). */
  readonly lifecycle: LifecycleLock;
  /** Tenant migrations, applied to every tenant. */
  readonly migrations: MigrationSource;
  /** Shared migrations and their schema; undefined without `sharedMigrations`. */
  readonly shared: SharedTables | undefined;
  /** Seeds run in every new tenant and by `tenancy.seed()`. */
  readonly seeds: MigrationSource | undefined;
  readonly defaultIsolation: IsolationKind;
  /** The plans' limits: every unit of work looks up its tenant's (connection share, statement timeout). */
  readonly plans: Plans;
  /**
   * Encrypts and decrypts strict tenants' login passwords with the servers' key (the current
   * one: `servers.rotateEncryptionKey()` re-encrypts them too). Throws `ENCRYPTION_KEY_REQUIRED`
   * without a key.
   */
  readonly secrets: { encrypt(plain: string): string; decrypt(stored: string): string };
  /** Every new tenant gets its own role. */
  readonly tenantRoles: boolean;
  readonly logger: Logger;
  readonly onStep: ((step: LifecycleStep, tenant: Tenant) => void | Promise<void>) | undefined;
  readonly onUnitOfWork: ((event: UnitOfWorkEvent) => void) | undefined;
  /** Tenants provisioned ahead of demand; undefined unless `pendingTenants` is set. */
  readonly pending: PendingTenantPool | undefined;
}
