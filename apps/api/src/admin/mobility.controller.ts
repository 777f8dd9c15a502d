import { PassThrough } from 'node:stream';
import { Body, Controller, Get, HttpCode, Param, Post, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { AdminGuard } from '../auth/admin.guard.js';
import { tenantJson } from '../tenants/tenant-json.js';
import { TenantParams } from '../tenants/tenants.dto.js';
import { CloneTenantDto, MoveTenantDto } from './mobility.dto.js';

/**
 * Backup, clone and move of one tenant (`tenancy.mobility`, docs/mobility.md). Admin only; each
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

  @Post(':id/clone')
  @ApiOperation({ summary: 'Copy the tenant into a new one. 201 the new tenant; 409 TENANT_EXISTS, 404 SERVER_NOT_FOUND.' })
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
      'Move the tenant to another server and/or tier, offline (suspended while its data is copied). 200 { tenant, from, oldCopy, retainUntil, pauseMs, durationMs }.',
  })
  async move(@Param() params: TenantParams, @Body() body: MoveTenantDto): Promise<Record<string, unknown>> {
    const r = await this.#tenancy.mobility.move(
      params.id,
      {
        ...(body.server === undefined ? {} : { server: body.server }),
        ...(body.isolation === undefined ? {} : { isolation: body.isolation }),
        ...(body.retainHours === undefined ? {} : { retainHours: body.retainHours }),
      },
      { actor: 'admin-api' },
    );
    return {
      tenant: tenantJson(r.tenant),
      from: r.from,
      oldCopy: r.oldCopy,
      retainUntil: r.retainUntil?.toISOString() ?? null,
      pauseMs: r.pauseMs,
      durationMs: r.durationMs,
    };
  }

  @Post('purge-moved')
  @HttpCode(200)
  @ApiOperation({ summary: 'Drop the old copies of moved tenants whose retention ended. 200 { purged: [{ tenant, oldCopy }] }.' })
  async purgeMoved(): Promise<{ purged: { tenant: string; oldCopy: string }[] }> {
    return { purged: await this.#tenancy.mobility.purgeMoved({ actor: 'admin-api' }) };
  }
}
