import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, StreamableFile } from '@nestjs/common';
import { ErrorCodes, TenantryError } from '@tenantry/core';
import { SkipTenancy } from '@tenantry/nestjs';
import { CreateTenantDto } from './dto/create-tenant.dto.js';
import { RestoreTenantQuery } from './dto/restore-tenant.query.js';
import { TenantsService, type TenantView } from './tenants.service.js';

const ARCHIVE_TYPE = 'application/octet-stream';

/** The request's body as the archive stream: `application/octet-stream` only (the JSON parser leaves it unread). */
function archiveBody(req: IncomingMessage): IncomingMessage {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== ARCHIVE_TYPE)
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, `send the archive as the request body with content-type ${ARCHIVE_TYPE}`);
  return req;
}

/** Reads what a failed restore left of the body, so that the error answer is not cut by a reset. */
async function withBody<T>(req: IncomingMessage, fn: (body: IncomingMessage) => Promise<T>): Promise<T> {
  const body = archiveBody(req);
  try {
    return await fn(body);
  } catch (err) {
    if (!body.readableEnded) body.resume();
    throw err;
  }
}

/** Tenants, and per-schema backup and restore. No tenant needed (`@SkipTenancy()`); `:id` is the id or the slug. */
@Controller('tenants')
@SkipTenancy()
export class TenantsController {
  constructor(private readonly tenantsService: TenantsService) {}

  /** 201 the tenant, ACTIVE, its schema migrated; 409 `TENANT_EXISTS`; 400 on a bad slug or schema. */
  @Post()
  create(@Body() body: CreateTenantDto): Promise<TenantView> {
    return this.tenantsService.create(body);
  }

  @Get()
  findAll(): Promise<TenantView[]> {
    return this.tenantsService.findAll();
  }

  @Get(':id')
  findOne(@Param('id') id: string): Promise<TenantView> {
    return this.tenantsService.findOne(id);
  }

  /**
   * The tenant's schema as a Tenantry archive, streamed. 404 `TENANT_NOT_FOUND` and 409
   * `CATALOG_DRIFTED` answer before any byte; a failure later cuts the stream (which a restore
   * refuses as truncated).
   */
  @Get(':id/backup')
  async backup(@Param('id') id: string): Promise<StreamableFile> {
    const tenant = await this.tenantsService.get(id);
    const pipe = new PassThrough();
    const done = this.tenantsService.backup(tenant, pipe).then(
      () => pipe.end(),
      (err: unknown) => pipe.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    await Promise.race([new Promise((resolve) => pipe.once('readable', resolve)), done]);
    if (pipe.destroyed && pipe.errored) throw pipe.errored;
    return new StreamableFile(pipe, { type: ARCHIVE_TYPE, disposition: `attachment; filename="${tenant.slug}.tenantry"` });
  }

  /** An archive (the body) restored over the tenant: 200 the tenant; 422 `ARCHIVE_INVALID` leaves it as it was. */
  @Post(':id/restore')
  @HttpCode(200)
  restoreInPlace(@Req() req: IncomingMessage, @Param('id') id: string): Promise<TenantView> {
    return withBody(req, (body) => this.tenantsService.restoreInPlace(id, body));
  }

  /** An archive (the body) restored into a new tenant `?slug=`: 201 the tenant; 409 `TENANT_EXISTS`; 422 `ARCHIVE_INVALID`. */
  @Post('restore')
  restore(@Req() req: IncomingMessage, @Query() query: RestoreTenantQuery): Promise<TenantView> {
    return withBody(req, (body) => this.tenantsService.restore(body, query.slug, query.name));
  }
}
