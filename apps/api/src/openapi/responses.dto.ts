import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TenantStatuses } from '@tenantry/core';

// The bodies the reference API answers with, as OpenAPI schemas (documentation only: the
// handlers build plain objects). apps/api/test/openapi.test.ts checks every real answer against
// these, so a field added to a reply without its schema fails the tests.

const NULLABLE_TEXT = { type: String, nullable: true } as const;
const NULLABLE_TIME = { type: String, format: 'date-time', nullable: true } as const;

/** Every error: a stable `code` to branch on, and a sentence. */
export class ErrorBodyDto {
  @ApiProperty({ example: 404, description: 'The HTTP status, repeated.' })
  statusCode!: number;

  @ApiProperty({ example: 'TENANT_NOT_FOUND', description: 'Stable, machine-readable: branch on this, not on `message`.' })
  code!: string;

  @ApiProperty({ example: "no tenant 'acme'" })
  message!: string;

  @ApiPropertyOptional({
    description: 'VALIDATION_FAILED only: one entry per field, `{ field, messages }`.',
    type: 'array',
    items: {
      type: 'object',
      required: ['field', 'messages'],
      properties: { field: { type: 'string' }, messages: { type: 'array', items: { type: 'string' } } },
    },
  })
  errors?: { field: string; messages: string[] }[];
}

export class PostDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty() content!: string;
  @ApiProperty() published!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class IssuedTokenDto {
  @ApiProperty({ description: 'A JWT (HS256) for `Authorization: Bearer`.' }) token!: string;
  @ApiProperty({ enum: ['Bearer'] }) tokenType!: 'Bearer';
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
}

export class TenantDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'tenant-a' }) slug!: string;
  @ApiProperty({ example: 'Tenant A' }) name!: string;
  @ApiProperty({ enum: TenantStatuses }) status!: string;
  @ApiProperty({ enum: ['schema', 'database'] }) isolation!: string;
  @ApiProperty({ example: 'default', description: 'The server it lives on.' }) server!: string;
  @ApiProperty({ ...NULLABLE_TEXT, description: 'Its schema (schema tenants).' }) schema!: string | null;
  @ApiProperty({ ...NULLABLE_TEXT, description: 'Its database, whose tables are in `public` (database tenants).' })
  database!: string | null;
  @ApiProperty({ ...NULLABLE_TEXT, description: 'The last migration applied.' }) schemaVersion!: string | null;
  @ApiProperty(NULLABLE_TIME) lastMigrationAt!: string | null;
  @ApiProperty(NULLABLE_TEXT) errorMessage!: string | null;
  @ApiProperty(NULLABLE_TEXT) plan!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({ type: [String], description: 'Custom domains (GET /tenants/{id} only).' }) domains?: string[];
}

export class TenantPageDto {
  @ApiProperty({ type: [TenantDto] }) items!: TenantDto[];
  @ApiProperty({ ...NULLABLE_TEXT, description: 'Pass as `cursor` for the next page; null on the last.' }) nextCursor!: string | null;
}

export class ActivityDto {
  @ApiProperty({ description: 'Increasing (a bigint, as text).' }) id!: string;
  @ApiProperty({ example: 'create' }) action!: string;
  @ApiProperty({ ...NULLABLE_TEXT, enum: TenantStatuses }) fromStatus!: string | null;
  @ApiProperty({ ...NULLABLE_TEXT, enum: TenantStatuses }) toStatus!: string | null;
  @ApiProperty(NULLABLE_TEXT) actor!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) detail!: Record<string, unknown>;
  @ApiProperty(NULLABLE_TEXT) error!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class DomainsDto {
  @ApiProperty({ type: [String], example: ['app.tenant-a.com'] }) domains!: string[];
}

export class DomainDto {
  @ApiProperty({ example: 'app.tenant-a.com' }) domain!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
}

export class ServerDto {
  @ApiProperty({ example: 'eu-1' }) id!: string;
  @ApiProperty({ example: 'tenantry@db-eu-1:5432/postgres', description: '`user@host:port/database`, never a password.' })
  host!: string;
  @ApiProperty(NULLABLE_TEXT) replicaHost!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Tenants it takes at most; null: no limit.' }) capacity!: number | null;
  @ApiProperty() draining!: boolean;
  @ApiProperty({ type: 'integer', description: 'Live tenants placed on it.' }) tenants!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ServerListDto {
  @ApiProperty({ type: [ServerDto] }) servers!: ServerDto[];
}

export class HealthDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
  @ApiProperty({ type: 'integer' }) uptimeSeconds!: number;
}

export class CheckResultDto {
  @ApiProperty({ enum: ['ok', 'down'] }) status!: string;
  @ApiPropertyOptional() latencyMs?: number;
  @ApiPropertyOptional({ description: 'A code (TIMEOUT, UNREACHABLE, a Tenantry code), never a message.' }) error?: string;
  @ApiPropertyOptional({ description: 'Every connection in use: the server works, so it is not probed.' }) busy?: boolean;
  @ApiPropertyOptional({ description: 'A down server no live tenant is placed on: it does not degrade the service.' }) unused?: boolean;
}

export class ReadinessChecksDto {
  @ApiProperty({ type: CheckResultDto }) registry!: CheckResultDto;
  @ApiProperty({ type: 'object', additionalProperties: { $ref: '#/components/schemas/CheckResultDto' }, description: 'By server id.' })
  servers!: Record<string, CheckResultDto>;
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'down'] }) status!: string;
  @ApiProperty({ type: ReadinessChecksDto }) checks!: ReadinessChecksDto;
}

export class MigrationVersionCountDto {
  @ApiProperty(NULLABLE_TEXT) version!: string | null;
  @ApiProperty({ type: 'integer' }) tenants!: number;
}

export class FailedTenantDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty(NULLABLE_TEXT) error!: string | null;
}

export class MigrationStatusDto {
  @ApiProperty(NULLABLE_TEXT) latest!: string | null;
  @ApiProperty({ type: [String] }) migrations!: string[];
  @ApiProperty({ type: [MigrationVersionCountDto] }) versions!: MigrationVersionCountDto[];
  @ApiProperty({ type: 'integer' }) pending!: number;
  @ApiProperty({ type: 'integer' }) migrating!: number;
  @ApiProperty({ type: [FailedTenantDto] }) failed!: FailedTenantDto[];
}

export class TenantRefDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() slug!: string;
}

export class CodeMessageDto {
  @ApiProperty() code!: string;
  @ApiProperty() message!: string;
}

export class TenantMigrationResultDto {
  @ApiProperty({ type: TenantRefDto }) tenant!: TenantRefDto;
  @ApiProperty({ enum: ['migrated', 'up-to-date', 'pending', 'failed', 'skipped', 'rolled-back'] }) status!: string;
  @ApiProperty({ type: [String] }) applied!: string[];
  @ApiProperty({ type: CodeMessageDto, nullable: true }) error!: CodeMessageDto | null;
  @ApiProperty() durationMs!: number;
}

const COUNT = { type: 'integer' } as const;

export class MigrationOutcomeCountsDto {
  @ApiProperty(COUNT) migrated!: number;
  @ApiProperty({ ...COUNT, name: 'up-to-date' }) upToDate!: number;
  @ApiProperty(COUNT) pending!: number;
  @ApiProperty(COUNT) failed!: number;
  @ApiProperty(COUNT) skipped!: number;
  @ApiProperty({ ...COUNT, name: 'rolled-back' }) rolledBack!: number;
}

export class MigrationSummaryDto {
  @ApiProperty({ description: 'No tenant failed.' }) ok!: boolean;
  @ApiProperty(NULLABLE_TEXT) latest!: string | null;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ type: MigrationOutcomeCountsDto, description: 'Tenants per outcome.' }) counts!: MigrationOutcomeCountsDto;
  @ApiProperty({ type: [TenantMigrationResultDto] }) results!: TenantMigrationResultDto[];
}

/** 409 of a migration run where a tenant failed: the error body and the whole summary beside it. */
export class MigrationFailedDto extends MigrationSummaryDto {
  @ApiProperty({ example: 409 }) statusCode!: number;
  @ApiProperty({ enum: ['MIGRATION_FAILED'] }) code!: string;
  @ApiProperty() message!: string;
}

export class ConnectionTotalsDto {
  @ApiProperty({ type: 'integer' }) inUse!: number;
  @ApiProperty({ type: 'integer' }) idle!: number;
  @ApiProperty({ type: 'integer' }) total!: number;
  @ApiProperty({ type: 'integer' }) waiting!: number;
  @ApiProperty({ type: 'integer' }) max!: number;
}

export class TenantShareDto {
  @ApiProperty({ format: 'uuid' }) tenant!: string;
  @ApiProperty({ description: "The tenant's plan (`default` when it has none or an unknown one)." }) plan!: string;
  @ApiProperty({ type: 'integer', description: 'Connections it holds now.' }) inUse!: number;
  @ApiProperty({ type: 'integer', description: "Most it may hold at once: its plan's maxConnectionShare of the budget." }) share!: number;
  @ApiProperty({ type: 'integer', description: 'Its callers waiting for a connection.' }) waiting!: number;
}

export class PlanDto {
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ description: 'A fraction of each server budget (0 < x < 1) or a count of connections.' })
  maxConnectionShare?: number;
  @ApiPropertyOptional({ type: 'integer' }) statementTimeoutMs?: number;
  @ApiPropertyOptional() requestsPerSecond?: number;
}

export class PoolStatsDto extends ConnectionTotalsDto {
  @ApiProperty({ type: 'integer', description: 'Databases with open connections.' }) pools!: number;
  @ApiProperty({ type: 'integer' }) checkouts!: number;
  @ApiProperty({ type: 'integer' }) opened!: number;
  @ApiProperty({ type: 'integer' }) evictions!: number;
  @ApiProperty({ type: 'integer' }) destroyed!: number;
  @ApiProperty() available!: boolean;
  @ApiProperty({ type: [TenantShareDto], description: 'Tenants holding or waiting for connections now, against their plan share.' })
  tenants!: TenantShareDto[];
}

export class ServerStatsDto {
  @ApiProperty() id!: string;
  @ApiProperty() host!: string;
  @ApiProperty({ type: 'integer', nullable: true }) capacity!: number | null;
  @ApiProperty() draining!: boolean;
  @ApiProperty({ type: 'integer' }) tenants!: number;
  @ApiProperty({ type: PoolStatsDto, nullable: true, description: 'null until the server is used.' }) pool!: PoolStatsDto | null;
  @ApiProperty({ type: PoolStatsDto, nullable: true }) replica!: PoolStatsDto | null;
}

export class TenantCountsDto {
  @ApiProperty({ type: 'integer', description: 'Every tenant but the DELETED rows the registry keeps.' }) live!: number;
  @ApiProperty({ type: 'object', additionalProperties: COUNT, description: 'Tenants per status.' }) byStatus!: Record<string, number>;
}

export class MigrationCountsDto {
  @ApiProperty(NULLABLE_TEXT) latest!: string | null;
  @ApiProperty({ type: 'integer' }) pending!: number;
  @ApiProperty({ type: 'integer' }) migrating!: number;
  @ApiProperty({ type: 'integer' }) failed!: number;
}

/** One server and isolation of the pending-tenant pool. */
export class PendingPoolServerDto {
  @ApiProperty() server!: string;
  @ApiProperty({ enum: ['schema', 'database'] }) isolation!: string;
  @ApiProperty({ description: 'Pending tenants ready to be claimed.' }) ready!: number;
  @ApiProperty({ description: 'Pending tenants, with those being provisioned or migrated.' }) total!: number;
}

/** Pool sizes per isolation. */
export class PendingPoolSizeDto {
  @ApiProperty() schema!: number;
  @ApiProperty() database!: number;
}

/** The pending-tenant pool. */
export class PendingPoolDto {
  @ApiProperty({ type: PendingPoolSizeDto, description: 'Pending tenants kept per server.' }) size!: PendingPoolSizeDto;
  @ApiProperty({ type: [PendingPoolServerDto] }) servers!: PendingPoolServerDto[];
  @ApiProperty({ description: 'Signups served from the pool by this process.' }) claims!: number;
  @ApiProperty({ description: 'Signups that found no ready pending tenant and provisioned as usual.' }) misses!: number;
  @ApiProperty({ description: 'Pending tenants this process provisioned.' }) provisioned!: number;
  @ApiProperty({ description: 'Refills that failed (retried at the next interval).' }) failures!: number;
}

export class StatsDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ type: ConnectionTotalsDto }) connections!: ConnectionTotalsDto;
  @ApiProperty({ type: [ServerStatsDto] }) servers!: ServerStatsDto[];
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Registry cache figures (hits, misses, size…).' })
  cache!: Record<string, unknown>;
  @ApiProperty({ type: TenantCountsDto }) tenants!: TenantCountsDto;
  @ApiProperty({ type: MigrationCountsDto }) migrations!: MigrationCountsDto;
  @ApiProperty({ type: [PlanDto], description: 'The plans and their limits (`default` included).' }) plans!: PlanDto[];
  @ApiProperty({
    type: PendingPoolDto,
    nullable: true,
    description: 'Tenants provisioned ahead of signups (`tenancy.tenants.pendingPool()`); null when there is no pool.',
  })
  pendingTenants!: PendingPoolDto | null;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'The busiest tenants by units of work (id, slug, units of work, time…).',
  })
  busiestTenants!: Record<string, unknown>[];
}

export class PlacementDto {
  @ApiProperty() server!: string;
  @ApiProperty({ enum: ['schema', 'database'] }) isolation!: string;
}

export class MoveResultDto {
  @ApiProperty({ type: TenantDto }) tenant!: TenantDto;
  @ApiProperty({ type: PlacementDto, description: 'Where the tenant was.' }) from!: PlacementDto;
  @ApiProperty({ ...NULLABLE_TEXT, description: 'The registry row keeping the old copy until retainUntil; null when dropped.' })
  oldCopy!: string | null;
  @ApiProperty(NULLABLE_TIME) retainUntil!: string | null;
  @ApiProperty({ description: 'Whether the move was online (logical replication) or offline (suspended).' }) online!: boolean;
  @ApiProperty({ ...NULLABLE_TEXT, description: 'Why the move was offline; null for an online move.' }) offlineReason!: string | null;
  @ApiProperty({ description: 'Offline: how long the tenant was suspended; online: how long new work waited at the cutover, in ms.' })
  pauseMs!: number;
  @ApiProperty() durationMs!: number;
}

export class PurgedCopyDto {
  @ApiProperty() tenant!: string;
  @ApiProperty() oldCopy!: string;
}

export class PurgedDto {
  @ApiProperty({ type: [PurgedCopyDto] }) purged!: PurgedCopyDto[];
}
