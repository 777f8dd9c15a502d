import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { SkipTenancy } from '@tenantry/nestjs';
import { TenantDatabaseProvisioningTypeormService } from '../../shared/infrastructure/database/typeorm/services/tenant-database-provisioning/tenant-database-provisioning-typeorm.service.js';
import type { TenantDatabase } from '../../shared/infrastructure/database/typeorm/services/tenant-database-provisioning/tenant-database.js';
import { CreateTenantDatabaseDto } from './dto/create-tenant-database.dto.js';
import { UpdateTenantDatabaseNameDto } from './dto/update-tenant-database-name.dto.js';

/**
 * The provisioning service over HTTP, and the `tenant_databases` records read from the registry.
 * No tenant needed (`@SkipTenancy()`). `:tenantId` is the tenantId (slug) or the registry id.
 */
@Controller('tenant-databases')
@SkipTenancy()
export class TenantDatabasesController {
  constructor(private readonly provisioningService: TenantDatabaseProvisioningTypeormService) {}

  /** 201 the record, ACTIVE; 409 `TENANT_EXISTS` (tenantId or database name taken); 400 on a bad tenantId or databaseName. */
  @Post()
  create(@Body() body: CreateTenantDatabaseDto): Promise<TenantDatabase> {
    return this.provisioningService.createTenantDatabase({
      tenantId: body.tenantId,
      ...(body.name === undefined ? {} : { name: body.name }),
      ...(body.databaseName === undefined ? {} : { databaseName: body.databaseName }),
    });
  }

  @Get()
  findAll(): Promise<TenantDatabase[]> {
    return this.provisioningService.listTenantDatabases();
  }

  /** 404 `TENANT_NOT_FOUND`. */
  @Get(':tenantId')
  findOne(@Param('tenantId') tenantId: string): Promise<TenantDatabase> {
    return this.provisioningService.getTenantDatabase(tenantId);
  }

  /** Renames the physical database: 200 the record with its new `databaseName`. */
  @Patch(':tenantId')
  updateDatabaseName(@Param('tenantId') tenantId: string, @Body() body: UpdateTenantDatabaseNameDto): Promise<TenantDatabase> {
    return this.provisioningService.updateTenantDatabaseName(tenantId, body.databaseName);
  }

  /** Drops the database: 204; the record stays, DELETED, readable by its id. */
  @Delete(':tenantId')
  @HttpCode(204)
  remove(@Param('tenantId') tenantId: string): Promise<void> {
    return this.provisioningService.deleteTenantDatabase(tenantId);
  }
}
