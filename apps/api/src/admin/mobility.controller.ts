import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCodes, TenantryError, type Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { AdminGuard } from '../auth/admin.guard.js';
import { tenantJson } from '../tenants/tenant-json.js';
import { TenantParams } from '../tenants/tenants.dto.js';
import { ADMIN_ERRORS, ApiErrors, BODY_ERRORS, PARAM_ERRORS, SERVICE_ERRORS } from '../openapi/api-errors.js';
import { MoveResultDto, PurgedDto, TenantDto } from '../openapi/responses.dto.js';
import { CloneTenantDto, MoveTenantDto, RestoreInPlaceQuery, RestoreTenantQuery } from './mobility.dto.js';

const ARCHIVE_TYPE = 'application/octet-stream';

/**
 * The request's body as the archive stream. Only `application/octet-stream` (the JSON parser
 * leaves such a body unread); anything else is refused before any work.
 */
function archiveBody(req: IncomingMessage): IncomingMessage {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== ARCHIVE_TYPE)
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, `send the archive as the request body with content-type ${ARCHIVE_TYPE}`);
  return req;
}

/** Drains what a failed restore left unread, so that the error answer is not cut by a reset. */
function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

/**
 * Backup, restore, clone and move of one tenant (`tenancy.mobility`, docs/mobility.md). Admin only; each
 * call is recorded in the tenant's activity log with the admin as actor.
 */
@ApiTags('admin: mobility')
@ApiBearerAuth('admin')
@SkipTenancy()
@UseGuards(AdminGuard)
@Controller('admin/tenants')
export class MobilityController {
  readonly #tenancy: Tenancy;

  constructor(@InjectTenancy() tenancy: Tenancy) {
    this.#tenancy = tenancy;
  }

  @Get(':id/backup')
  @ApiOperation({
    summary:
      "The tenant's Tenantry archive, streamed (application/octet-stream). 404 TENANT_NOT_FOUND, 409 CATALOG_DRIFTED before any byte; a failure later cuts the stream, which restore refuses as truncated.",
  })
  @ApiOkResponse({ description: 'The archive.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', 'CATALOG_DRIFTED', SERVICE_ERRORS)
  async backup(@Param() params: TenantParams): Promise<StreamableFile> {
    const tenant = await this.#tenancy.tenants.get(params.id);
    const pipe = new PassThrough();
    // Errors found before the first byte (drift, status) answer as errors; later ones cut the stream.
    const started = this.#tenancy.mobility.backup(tenant.id, pipe).then(
      () => pipe.end(),
      (err: unknown) => pipe.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    await Promise.race([new Promise((resolve) => pipe.once('readable', resolve)), started]);
    if (pipe.destroyed && pipe.errored) throw pipe.errored;
    return new StreamableFile(pipe, { type: 'application/octet-stream', disposition: `attachment; filename="${tenant.slug}.tenantry"` });
  }

  @Post('restore')
  @ApiConsumes(ARCHIVE_TYPE)
  @ApiBody({
    description: 'a Tenantry archive (GET /admin/tenants/{id}/backup), streamed; with format=pg_dump, a pg_dump --format=custom archive',
    schema: { type: 'string', format: 'binary' },
  })
  @ApiOperation({
    summary:
      'Restore an archive (the body, streamed) into a NEW tenant. 201 the tenant; 409 TENANT_EXISTS, CATALOG_DRIFTED (a pg_dump whose schema is not what its migrations make); 422 ARCHIVE_INVALID (truncated, corrupted, the other format, or migrations this service lacks), which leaves nothing.',
  })
  @ApiCreatedResponse({ type: TenantDto, description: 'The new tenant, ACTIVE.' })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    'INVALID_ARGUMENT',
    'PAYLOAD_TOO_LARGE',
    'TENANT_EXISTS',
    'SERVER_NOT_FOUND',
    'CATALOG_DRIFTED',
    'ARCHIVE_INVALID',
    SERVICE_ERRORS,
  )
  async restore(@Req() req: IncomingMessage, @Query() query: RestoreTenantQuery): Promise<Record<string, unknown>> {
    const body = archiveBody(req);
    try {
      const target = {
        slug: query.slug,
        ...(query.name === undefined ? {} : { name: query.name }),
        ...(query.server === undefined ? {} : { server: query.server }),
        ...(query.isolation === undefined ? {} : { isolation: query.isolation }),
      };
      const options = { actor: 'admin-api' };
      const tenant =
        query.format === 'pg_dump'
          ? await this.#tenancy.mobility.restorePgDump(body, target, options)
          : await this.#tenancy.mobility.restore(body, target, options);
      return tenantJson(tenant);
    } catch (err) {
      drain(body);
      throw err;
    }
  }

  @Post(':id/restore')
  @HttpCode(200)
  @ApiConsumes(ARCHIVE_TYPE)
  @ApiBody({
    description: 'a Tenantry archive, streamed; with format=pg_dump, a pg_dump --format=custom archive',
    schema: { type: 'string', format: 'binary' },
  })
  @ApiOperation({
    summary:
      'Restore an archive (the body, streamed) over the tenant, which keeps its id, slug and domains; suspended meanwhile, its old copy serves again if the restore fails. 200 the tenant; 409 CATALOG_DRIFTED (pg_dump); 422 ARCHIVE_INVALID.',
  })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_NOT_FOUND',
    'INVALID_STATE_TRANSITION',
    'CATALOG_DRIFTED',
    'ARCHIVE_INVALID',
    SERVICE_ERRORS,
  )
  async restoreInPlace(
    @Req() req: IncomingMessage,
    @Param() params: TenantParams,
    @Query() query: RestoreInPlaceQuery,
  ): Promise<Record<string, unknown>> {
    const body = archiveBody(req);
    try {
      const options = { actor: 'admin-api' };
      return tenantJson(
        query.format === 'pg_dump'
          ? await this.#tenancy.mobility.restorePgDumpInPlace(params.id, body, options)
          : await this.#tenancy.mobility.restoreInPlace(params.id, body, options),
      );
    } catch (err) {
      drain(body);
      throw err;
    }
  }

  @Post(':id/clone')
  @ApiOperation({ summary: 'Copy the tenant into a new one. 201 the new tenant; 409 TENANT_EXISTS, 404 SERVER_NOT_FOUND.' })
  @ApiCreatedResponse({ type: TenantDto, description: 'The new tenant.' })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_NOT_FOUND',
    'TENANT_EXISTS',
    'SERVER_NOT_FOUND',
    'CATALOG_DRIFTED',
    SERVICE_ERRORS,
  )
  async clone(@Param() params: TenantParams, @Body() body: CloneTenantDto): Promise<Record<string, unknown>> {
    const tenant = await this.#tenancy.mobility.clone(
      params.id,
      {
        slug: body.slug,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.server === undefined ? {} : { server: body.server }),
        ...(body.isolation === undefined ? {} : { isolation: body.isolation }),
      },
      { actor: 'admin-api' },
    );
    return tenantJson(tenant);
  }

  @Post(':id/move')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Move the tenant to another server and/or tier: online by logical replication where the source server allows it (new work waits during the cutover), else offline (suspended while its data is copied). 200 { tenant, from, oldCopy, retainUntil, online, offlineReason, pauseMs, durationMs }.',
  })
  @ApiOkResponse({ type: MoveResultDto })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_NOT_FOUND',
    'SERVER_NOT_FOUND',
    'SERVER_DRAINING',
    'INVALID_STATE_TRANSITION',
    'CATALOG_DRIFTED',
    SERVICE_ERRORS,
  )
  async move(@Param() params: TenantParams, @Body() body: MoveTenantDto): Promise<Record<string, unknown>> {
    const r = await this.#tenancy.mobility.move(
      params.id,
      {
        ...(body.server === undefined ? {} : { server: body.server }),
        ...(body.isolation === undefined ? {} : { isolation: body.isolation }),
        ...(body.retainHours === undefined ? {} : { retainHours: body.retainHours }),
        ...(body.online === undefined ? {} : { online: body.online }),
        ...(body.cutoverTimeoutMs === undefined ? {} : { cutoverTimeoutMs: body.cutoverTimeoutMs }),
      },
      { actor: 'admin-api' },
    );
    return {
      tenant: tenantJson(r.tenant),
      from: r.from,
      oldCopy: r.oldCopy,
      retainUntil: r.retainUntil?.toISOString() ?? null,
      online: r.online,
      offlineReason: r.offlineReason ?? null,
      pauseMs: r.pauseMs,
      durationMs: r.durationMs,
    };
  }

  @Post('purge-moved')
  @HttpCode(200)
  @ApiOperation({ summary: 'Drop the old copies of moved tenants whose retention ended. 200 { purged: [{ tenant, oldCopy }] }.' })
  @ApiOkResponse({ type: PurgedDto })
  @ApiErrors(ADMIN_ERRORS, SERVICE_ERRORS)
  async purgeMoved(): Promise<{ purged: { tenant: string; oldCopy: string }[] }> {
    return { purged: await this.#tenancy.mobility.purgeMoved({ actor: 'admin-api' }) };
  }
}
