export { createTenancy } from './create-tenancy.js';
export type { TenancyOptions } from './create-tenancy.js';
export type { PendingTenantsOptions, PendingPoolStats } from './pending-tenants.js';
export { Plans, DEFAULT_PLAN, connectionShare } from './plans.js';
export type { PlanLimits, ResolvedPlan } from './plans.js';
export { Tenancy } from './tenancy.js';
export type { TenancyStats } from './tenancy.js';
export type { TenantRunResult, ForEachTenantOptions } from './across-tenants.js';
export type { LifecycleStep } from './internals.js';
export type {
  MigrateOptions,
  MigrationSummary,
  MigrationProgress,
  MigrationStatusReport,
  OnMigrationError,
  RollbackOptions,
  TenantMigrationResult,
  TenantMigrationStatus,
} from './migrations/migrator.js';
export { Tenants } from './tenants.js';
export type { CreateTenantInput, CreateTenantOptions, ListTenantsOptions, TenantPage, RenamePhysicalOptions } from './tenants.js';
export { TenantDb } from './unit-of-work.js';
export type { UnitOfWorkOptions, UnitOfWorkEvent, TenantQueryable, TenantBoundClient, Row } from './unit-of-work.js';
export type { QueryConfig } from './tenant-query.js';
export { currentTenant } from './tenant-context.js';
export { TenantryError, ErrorCodes, isTenantryError, invalidArgument, migrationInvalid, tenantRequired } from './errors.js';
export type { ErrorCode, ErrorContext } from './errors.js';
export { classifyPgError, sqlState } from './pg-errors.js';
export type { PgErrorClass } from './pg-errors.js';
export { quoteIdent, assertIdent, assertSlug, assertDomain, parseTenantRef, physicalNameFor, isUuid, SLUG_PATTERN } from './identifiers.js';
export type { TenantRef } from './identifiers.js';
export { sqlFolder, migrationList, checksum } from './migrations/migration-source.js';
export type { Migration, MigrationSource } from './migrations/migration-source.js';
export type { AppliedMigration } from './migrations/tenant-ledger.js';
export { SHARED_LEDGER_TABLE } from './shared-tables.js';
export type {
  MigrateSharedOptions,
  SharedMigrationResult,
  SharedMigrationStatusReport,
  SharedMigrationSummary,
  SharedTarget,
  SharedTargetStatus,
} from './shared-tables.js';
export type { IsolationStrategy } from './isolation-strategy.js';
export type { PoolOptions, ServerStats, AdminPool, ConnectTarget, TenantShareStats } from './connection-router.js';
export { Servers } from './servers.js';
export type { AddServerInput, ServerInfo, UpdateServerInput } from './servers.js';
export type { ReconcileReport } from './reconcile.js';
export { UrlCipher, redactUrl } from './url-cipher.js';
export type { CacheOptions } from './registry/registry-cache.js';
export { silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { TenantStatuses } from './types.js';
export type { Tenant, TenantStatus, IsolationKind, ActivityEntry, ActorOptions } from './types.js';
// Plain `pg` code (a pg.Pool / pg.Client user) can run on a tenant with these; ORM adapter
// authors find them, with the rest of what they need, in `@tenantry/core/adapter`.
export { tenantPool } from './tenant-pool.js';
export type { TenantPoolOptions } from './tenant-pool.js';
export { ormClient } from './orm-client.js';
export type { OrmClient, OrmPool } from './adapter.js';
// The one way to run an administrative transaction on a checked-out connection.
export { inTransaction } from './transaction.js';
export type { TransactionOptions } from './transaction.js';
// Backup, restore, clone and move of one tenant (docs/mobility.md).
export { Mobility } from './mobility/mobility.js';
export type {
  MobilityOptions,
  MobilityStep,
  MobilityProgress,
  NewTenantTarget,
  MoveTarget,
  MoveResult,
  BackupOptions,
  DrainOptions,
  DrainProgress,
  DrainResult,
  DrainTenantResult,
  MobilityOperation,
  MobilityStats,
} from './mobility/mobility.js';
export type { ArchiveManifest, ArchiveHeader } from './mobility/archive-format.js';
export type { SettledMobilityJob } from './mobility/settle.js';
export type { PgDumpRestoreOptions, PgDumpRestoreStep } from './mobility/pg-dump-restore.js';
