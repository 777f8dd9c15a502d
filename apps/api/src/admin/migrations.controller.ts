import { Body, Controller, Get, Header, HttpCode, HttpStatus, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCodes, type MigrationStatusReport, type MigrationSummary, type Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { ADMIN_ACTOR } from '../api.constants.js';
import { AdminGuard } from '../auth/admin.guard.js';
import { fieldError } from '../field-error.js';
import { MigrateDto, RollbackDto } from './migrations.dto.js';
import { MigrationFailedDto, MigrationStatusDto, MigrationSummaryDto } from '../openapi/responses.dto.js';
import { ADMIN_ERRORS, ApiErrors, BODY_ERRORS, SERVICE_ERRORS } from '../openapi/api-errors.js';

/** The part of Express's response the handlers touch. */
interface StatusSink {
  status(code: number): unknown;
}

function summaryJson(s: MigrationSummary): Record<string, unknown> {
  return {
    ok: s.ok,
    latest: s.latest,
    durationMs: s.durationMs,
    counts: s.counts,
    results: s.results.map((r) => ({
      tenant: { id: r.tenant.id, slug: r.tenant.slug },
      status: r.status,
      applied: r.applied,
      error: r.error === null ? null : { code: r.error.code, message: r.error.message },
      durationMs: r.durationMs,
    })),
  };
}

/**
 * 200 and the summary when no tenant failed. Otherwise 409 with the error body every failure
 * has (`statusCode`, `code: MIGRATION_FAILED`, `message`) and the whole summary beside it:
 * `curl --fail` and CI steps stop on it, and the results say which tenants failed and why.
 */
function reply(res: StatusSink, summary: MigrationSummary, run: 'migration' | 'rollback'): Record<string, unknown> {
  const body = summaryJson(summary);
  if (summary.ok) return body;
  const first = summary.results.find((r) => r.status === 'failed');
  res.status(HttpStatus.CONFLICT);
  return {
    statusCode: HttpStatus.CONFLICT,
    code: ErrorCodes.MIGRATION_FAILED,
    message: `${run} failed for ${summary.counts.failed} of ${summary.results.length} tenants (first: '${first?.tenant.slug}', ${first?.error?.code}); see results`,
    ...body,
  };
}

/**
 * Tenant migrations over HTTP (`tenancy.migrate()`, `rollback()`, `migrationStatus()`), for
 * operators and deploy pipelines. A run is synchronous: the reply comes when every tenant is
 * done. The migration set is the service's own (`apps/api/migrations`).
 */
@ApiTags('admin: migrations')
@ApiBearerAuth('admin')
@SkipTenancy()
@UseGuards(AdminGuard)
@Controller('admin/migrations')
export class MigrationsController {
  readonly #tenancy: Tenancy;

  constructor(@InjectTenancy() tenancy: Tenancy) {
    this.#tenancy = tenancy;
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Where the tenants stand, from the registry alone: latest migration, tenants per version, pending, migrating, failed.',
  })
  @ApiOkResponse({ type: MigrationStatusDto })
  @ApiErrors(ADMIN_ERRORS, SERVICE_ERRORS)
  async status(): Promise<MigrationStatusReport> {
    return await this.#tenancy.migrationStatus();
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Apply pending migrations to every tenant (or `tenants`). 200 when no tenant failed; 409 MIGRATION_FAILED with the summary otherwise.',
  })
  @ApiOkResponse({ type: MigrationSummaryDto })
  @ApiConflictResponse({ type: MigrationFailedDto, description: 'MIGRATION_FAILED: a tenant failed; the summary says which and why.' })
  @ApiErrors(
    ADMIN_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_NOT_FOUND',
    'MIGRATION_INVALID',
    'MIGRATION_CHECKSUM_MISMATCH',
    SERVICE_ERRORS,
  )
  async migrate(@Body() body: MigrateDto, @Res({ passthrough: true }) res: StatusSink): Promise<Record<string, unknown>> {
    const summary = await this.#tenancy.migrate({
      actor: ADMIN_ACTOR,
      ...(body.tenants === undefined ? {} : { tenants: body.tenants }),
      ...(body.concurrency === undefined ? {} : { concurrency: body.concurrency }),
      ...(body.onError === undefined ? {} : { onError: body.onError }),
      ...(body.canary === undefined ? {} : { canary: body.canary }),
      ...(body.dryRun === undefined ? {} : { dryRun: body.dryRun }),
    });
    return reply(res, summary, 'migration');
  }

  @Post('rollback')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Undo each tenant's last `steps` migrations (down parts). 200 when no tenant failed; 409 MIGRATION_FAILED with the summary otherwise.",
  })
  @ApiOkResponse({ type: MigrationSummaryDto })
  @ApiConflictResponse({ type: MigrationFailedDto, description: 'MIGRATION_FAILED: a tenant failed; the summary says which and why.' })
  @ApiErrors(ADMIN_ERRORS, BODY_ERRORS, 'INVALID_ARGUMENT', 'TENANT_NOT_FOUND', 'MIGRATION_IRREVERSIBLE', SERVICE_ERRORS)
  async rollback(@Body() body: RollbackDto, @Res({ passthrough: true }) res: StatusSink): Promise<Record<string, unknown>> {
    if (body.all === true && body.tenants !== undefined) throw fieldError('all', 'give tenants or all: true, not both');
    const summary = await this.#tenancy.rollback({
      actor: ADMIN_ACTOR,
      ...(body.steps === undefined ? {} : { steps: body.steps }),
      ...(body.tenants === undefined ? {} : { tenants: body.tenants }),
      ...(body.concurrency === undefined ? {} : { concurrency: body.concurrency }),
    });
    return reply(res, summary, 'rollback');
  }
}
