/**
 * Lifecycle of a tenant. Only `ACTIVE` tenants are routable. `FAILED`: its provisioning failed
 * (nothing of it was kept). `MIGRATION_FAILED`: a migration failed on it; its data is intact at
 * its previous version and `migrate` (or `tenants.resume`) brings it back.
 */
export const TenantStatuses = [
  'PROVISIONING',
  'ACTIVE',
  'SUSPENDED',
  'MIGRATING',
  'FAILED',
  'DELETING',
  'DELETED',
  'MIGRATION_FAILED',
] as const;
export type TenantStatus = (typeof TenantStatuses)[number];

/** Where a tenant's data lives: its own schema (now) or its own database (later). */
export type IsolationKind = 'schema' | 'database';

/** A tenant as the registry knows it. Immutable snapshot. */
export interface Tenant {
  /** Immutable uuid. */
  readonly id: string;
  /** Unique among live tenants; renamable. */
  readonly slug: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly isolation: IsolationKind;
  /** Id of the server the tenant is placed on. */
  readonly server: string;
  /** Schema (or database) name, generated from the id, never from user text. */
  readonly physicalName: string;
  /**
   * The tenant's own NOLOGIN PostgreSQL role (owner of its schema or database), switched to for
   * every statement of its units of work; null when per-tenant roles are off.
   */
  readonly role: string | null;
  /**
   * A strict tenant (database tenants only): its connections log in as its role, of which the
   * application's role is not a member, so no SQL run in it can become another role.
   */
  readonly strict: boolean;
  /** Name of the last migration applied, or null before any. */
  readonly schemaVersion: string | null;
  readonly lastMigrationAt: Date | null;
  /** Why the tenant is `FAILED` or `MIGRATION_FAILED`, when it is. */
  readonly errorMessage: string | null;
  readonly plan: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One entry of a tenant's activity log. */
export interface ActivityEntry {
  readonly id: string;
  readonly tenantId: string;
  /** What happened: `create`, `provisioned`, `suspend`, `resume`, `rename`, `delete`, `deleted`, `failed`, … */
  readonly action: string;
  readonly fromStatus: TenantStatus | null;
  readonly toStatus: TenantStatus | null;
  /** Who asked for it (free text given by the caller, e.g. a user id), or null. */
  readonly actor: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly error: string | null;
  readonly createdAt: Date;
}

/** Options every state-changing call accepts. */
export interface ActorOptions {
  /** Recorded in the activity log as who did it. */
  readonly actor?: string;
}
