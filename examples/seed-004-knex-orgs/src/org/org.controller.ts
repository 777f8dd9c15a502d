import { Body, Controller, Get, Post } from '@nestjs/common';
import { SkipTenancy } from '@tenantry/nestjs';
import { CreateOrgDto } from './create-org.dto.js';
import { OrgService, type Org } from './org.service.js';

/** Seed 004's `OrgController`: no organisation needed on these routes. */
@Controller('org')
@SkipTenancy()
export class OrgController {
  constructor(private readonly orgService: OrgService) {}

  /** 201 with the organisation; 409 `TENANT_EXISTS` when the slug is taken; 400 on a bad name or slug. */
  @Post('create')
  create(@Body() body: CreateOrgDto): Promise<Org> {
    return this.orgService.createTenant(body.name, body.slug);
  }

  @Get()
  list(): Promise<Org[]> {
    return this.orgService.list();
  }
}
