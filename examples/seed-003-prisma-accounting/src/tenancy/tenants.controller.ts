import { Body, Controller, Get, Headers, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { SkipTenancy } from '@tenantry/nestjs';
import { CreateTenantDto, UpdateTenantDto } from './tenants.dto.js';
import { TenantProvisioningService, type Activity, type Company } from './tenant-provisioning.service.js';

/**
 * The companies, in the registry (seed 003's `nusa_journal_registry`): no company in the path, so
 * these routes are excluded from the tenant resolver and need no tenant. `x-actor` (optional)
 * is written to the activity log as who asked. Like the seed, no authentication: see the README.
 */
@Controller('tenants')
@SkipTenancy()
export class TenantsController {
  constructor(private readonly provisioning: TenantProvisioningService) {}

  /** 201 with the company, ACTIVE, its chart of accounts seeded; 409 `TENANT_EXISTS`; 400 on a bad slug, name or plan. */
  @Post()
  create(@Body() dto: CreateTenantDto, @Headers('x-actor') actor?: string): Promise<Company> {
    return this.provisioning.provisionTenant(dto, actor);
  }

  @Get()
  list(): Promise<Company[]> {
    return this.provisioning.list();
  }

  @Get(':slug')
  get(@Param('slug') slug: string): Promise<Company> {
    return this.provisioning.get(slug);
  }

  /** Upgrades or downgrades the plan; its limits apply from the company's next request. */
  @Patch(':slug')
  update(@Param('slug') slug: string, @Body() dto: UpdateTenantDto, @Headers('x-actor') actor?: string): Promise<Company> {
    return this.provisioning.update(slug, dto, actor);
  }

  /** The company's routes answer 403 `TENANT_SUSPENDED` until it is resumed. */
  @Post(':slug/suspend')
  @HttpCode(200)
  suspend(@Param('slug') slug: string, @Headers('x-actor') actor?: string): Promise<Company> {
    return this.provisioning.suspend(slug, actor);
  }

  @Post(':slug/resume')
  @HttpCode(200)
  resume(@Param('slug') slug: string, @Headers('x-actor') actor?: string): Promise<Company> {
    return this.provisioning.resume(slug, actor);
  }

  /** Seed 003's `tenant_activities`: provisioning, plan changes, suspensions…, oldest first. */
  @Get(':slug/activity')
  activity(@Param('slug') slug: string): Promise<Activity[]> {
    return this.provisioning.activity(slug);
  }
}
