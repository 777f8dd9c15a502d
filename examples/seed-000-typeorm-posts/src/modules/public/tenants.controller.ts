import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { SkipTenancy } from '@tenantry/nestjs';
import { CreateTenantDto } from './dto/create-tenant.dto.js';
import { TenantsService, type TenantView } from './tenants.service.js';

/**
 * Seed 000's tenant management routes. `@SkipTenancy()` is the seed's
 * `exclude({ path: 'tenants', … })`: no `x-tenant-id` needed here.
 */
@Controller('tenants')
@SkipTenancy()
export class TenantsController {
  constructor(private readonly tenantsService: TenantsService) {}

  @Post()
  create(@Body() createTenantDto: CreateTenantDto): Promise<TenantView> {
    return this.tenantsService.createTenant(createTenantDto);
  }

  @Get()
  findAll(): Promise<TenantView[]> {
    return this.tenantsService.findAll();
  }

  @Get(':id')
  findOne(@Param('id') id: string): Promise<TenantView> {
    return this.tenantsService.findOne(id);
  }
}
