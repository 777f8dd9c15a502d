import type pg from 'pg';
import { ErrorCodes, TenantryError } from './errors.js';
import type { ConnectTarget } from './connection-router.js';
import type { LifecycleStep } from './internals.js';
import type { Migration } from './migrations/migration-source.js';
import type { AppliedMigration } from './migrations/tenant-ledger.js';
import type { Queryable } from './registry/tenant-registry.js';
import type { BatchStatement } from './statement-batch.js';
import type { RoutePrefix } from './tenant-query.js';
import type { IsolationKind, Tenant } from './types.js';

/** What {@link IsolationStrategy.provision} is asked to do, and how it reports back. */
export interface ProvisionRequest {
  /** The tenant, registered and PROVISIONING (or, with `register`, as it is about to be registered). */
  readonly tenant: Tenant;
  /**
   * The tenant's registration, when the whole create is ONE transaction — only for a container
   * in the registry's database ({@link IsolationStrategy.inRegistryDatabase}); other strategies
   * refuse it. `statement` (the registry's insert) goes in the transaction's first round trip
   * right after `BEGIN`, and its result to `registered` (a failure there fails the create
   * before anything is kept); `created` is called once the container is made, still
   * uncommitted; `record` then goes in the last round trip with `COMMIT`. A stop before that
   * commit leaves nothing: no row, no container, no role. Undefined when the tenant was
   * registered (PROVISIONING, committed) before.
   */
  readonly register?: {
    readonly statement: BatchStatement;
    readonly registered: (result: pg.QueryResult) => Promise<void>;
  };
  readonly migrations: readonly Migration[];
  /** Run in the tenant after its migrations, as its role. */
  readonly seeds: readonly Migration[];
  /**
   * The tenant's lifecycle lock key when the strategy must take it itself, inside its
   * provisioning transaction ({@link IsolationStrategy.inRegistryDatabase}); undefined when the
   * caller already holds it.
   */
  readonly lockInTransaction: string | undefined;
  /** Called once the container is committed (with `register`: made) and before it is recorded (a lifecycle step). */
  readonly created: () => Promise<void>;
  /** Reports a step between the statements that make the container (crash tests, logs). */
  readonly step?: (step: LifecycleStep) => Promise<void>;
  /**
   * Records the tenant ACTIVE with its migration ledger in the registry, exactly once: with
   * `db` inside the provisioning transaction when that is in the registry's database (so the
   * tenant is ACTIVE if and only if its container is committed), else with no `db` after the
   * container is committed — the strategy then drops the container when recording fails.
   */
  readonly record: (applied: readonly AppliedMigration[], db?: Queryable) => Promise<Tenant>;
}

/**
 * How a tenant's data is kept apart. One interface; `schema` and `database` now, row-level
 * security later. Everything outside the strategies is isolation-agnostic: it asks the
 * strategy and never branches on the kind.
 */
export interface IsolationStrategy {
  readonly kind: IsolationKind;
  /**
   * Whether the tenant's container lives in the registry's own database, so that one
   * transaction can create it and record it (and hold its lifecycle lock).
   */
  inRegistryDatabase(tenant: Tenant): boolean;
  /**
   * Creates the tenant's container with every migration and seed applied and records it
   * through `request.record`. On failure nothing of the container remains.
   */
  provision(request: ProvisionRequest): Promise<Tenant>;
  /** Where the tenant's connections go. */
  target(tenant: Tenant, readOnly: boolean): ConnectTarget;
  /**
   * Points `client` (a connection from {@link target}, inside a transaction) at the tenant for
   * administrative work such as migrations: afterwards unqualified names resolve in the tenant.
   */
  enter(client: pg.ClientBase, tenant: Tenant): Promise<void>;
  /** What every statement of a unit of work sets before it runs. */
  routePrefix(tenant: Tenant, readOnly: boolean): RoutePrefix;
  /**
   * Checks, without changing anything, that every step of the tenant's provisioning is done:
   * its container (marked as this registry's), its role, the container owned by it, the
   * application's membership in it, its ledger up to `target` ('' = no migrations), and the
   * role's privileges on every table and sequence. `reconcile()` finishes a tenant only when
   * `missing` is empty.
   */
  verify(tenant: Tenant, target: string): Promise<TenantCheck>;
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
  /**
   * Renames the tenant's container from `tenant.physicalName` to `to`, and its role with it when
   * `renameRole`, in one transaction on the server (both or neither). A database tenant's
   * connections are drained first: Tenantry's pooled ones closed, the rest — other processes',
   * or a unit of work still open after `drainMs` — terminated; `INVALID_STATE_TRANSITION` when
   * some cannot be. Called holding the tenant's lifecycle lock, its rename recorded as pending.
   */
  rename(tenant: Tenant, to: string, options: { readonly renameRole: boolean; readonly drainMs: number }): Promise<void>;
  /** Which of `names` exist on `server` as a container of this kind (schema or database). */
  existing(server: string, names: readonly string[]): Promise<Set<string>>;
  /** Every container on a server named like a tenant's or marked as this registry's (its COMMENT), to find orphans. */
  containers(client: pg.ClientBase): Promise<{ name: string; marker: string | null }[]>;
}

/** What {@link IsolationStrategy.verify} found. */
export interface TenantCheck {
  /** The steps not done, in words (`role`, `ownership`, `privileges on posts`, `migration 0002_x`…); empty when whole. */
  readonly missing: readonly string[];
  /** The tenant's ledger as committed (empty when it has none). */
  readonly ledger: readonly AppliedMigration[];
}

/** Tenantry's physical names: `t_` and the id's 32 hex digits. */
export const PHYSICAL_NAME = '^t_[0-9a-f]{32}$';

/** Refusal to drop a container with a chosen name that another registry marked as its own. */
export function notOurs(kind: 'schema' | 'database', tenant: Tenant): TenantryError {
  return new TenantryError(
    ErrorCodes.INTERNAL,
    `refusing to drop ${kind} '${tenant.physicalName}' of tenant '${tenant.slug}': it is marked as another registry's`,
    { context: { tenant: tenant.slug, server: tenant.server } },
  );
}
