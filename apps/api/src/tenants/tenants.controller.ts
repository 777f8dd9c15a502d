import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCodes, TenantryError, type Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { ADMIN_ACTOR } from '../api.constants.js';
import { AdminGuard } from '../auth/admin.guard.js';
import { TokenService } from '../auth/token.service.js';
import { fieldError } from '../field-error.js';
import { slugify } from './slugify.js';
import { activityJson, tenantJson } from './tenant-json.js';
import {
  ActivityQuery,
  AddDomainDto,
  CreateTenantDto,
  DomainParams,
  IssueTokenDto,
  ListTenantsQuery,
  RenamePhysicalDto,
  SuspendTenantDto,
  TenantParams,
  UpdateTenantDto,
} from './tenants.dto.js';
import { ActivityDto, DomainDto, DomainsDto, IssuedTokenDto, TenantDto, TenantPageDto } from '../openapi/responses.dto.js';
import { ADMIN_ERRORS, ApiErrors, BODY_ERRORS, PARAM_ERRORS, SERVICE_ERRORS } from '../openapi/api-errors.js';

/** The admin API: tenants and their lifecycle. Needs the admin token; no tenant. */
@ApiTags('admin: tenants')
@ApiBearerAuth('admin')
@SkipTenancy()
@UseGuards(AdminGuard)
@Controller('tenants')
export class TenantsController {
  readonly #tenancy: Tenancy;
  readonly #tokens: TokenService;

  constructor(@InjectTenancy() tenancy: Tenancy, @Inject(TokenService) tokens: TokenService) {
    this.#tenancy = tenancy;
    this.#tokens = tokens;
  }

  @Post()
  @ApiOperation({ summary: 'Create a tenant: registry row, schema or database, every migration. 201 when ACTIVE.' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A key you pick per create (e.g. a UUID): retrying with the same key and body returns the same tenant instead of 409 TENANT_EXISTS; the same key with another body answers 422 IDEMPOTENCY_KEY_REUSED.',
  })
  @ApiCreatedResponse({ type: TenantDto, description: 'The tenant, ACTIVE.' })
  @ApiErrors(
    ADMIN_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_EXISTS',
    'IDEMPOTENCY_KEY_REUSED',
    'SERVER_NOT_FOUND',
    'SERVER_DRAINING',
    'NO_SERVER_CAPACITY',
    'PROVISIONING_FAILED',
    SERVICE_ERRORS,
  )
  async create(@Body() body: CreateTenantDto, @Headers('idempotency-key') idempotencyKey?: string): Promise<Record<string, unknown>> {
    if (body.slug !== undefined && body.subdomain !== undefined && body.slug !== body.subdomain) {
      throw fieldError('subdomain', 'subdomain is the slug under another name; give one, or the same value in both');
    }
    const slug = body.slug ?? body.subdomain ?? slugify(body.name);
    if (slug === undefined)
      throw fieldError(
        'slug',
        `cannot derive a slug from name ${JSON.stringify(body.name)}; give slug (3–63 lowercase letters, digits, hyphens)`,
      );
    const tenant = await this.#tenancy.tenants.create(
      {
        slug,
        name: body.name,
        ...(body.isolation === undefined ? {} : { isolation: body.isolation }),
        ...(body.server === undefined ? {} : { server: body.server }),
        ...(body.plan === undefined ? {} : { plan: body.plan }),
        ...(body.physicalName === undefined ? {} : { physicalName: body.physicalName }),
      },
      { actor: ADMIN_ACTOR, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) },
    );
    return tenantJson(tenant);
  }

  @Get()
  @ApiOperation({ summary: 'List tenants in creation order, a page at a time.' })
  @ApiOkResponse({ type: TenantPageDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'INVALID_ARGUMENT', SERVICE_ERRORS)
  async list(@Query() query: ListTenantsQuery): Promise<Record<string, unknown>> {
    const page = await this.#tenancy.tenants.list({
      ...(query.limit === undefined ? {} : { limit: query.limit }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      ...(query.status === undefined ? {} : { status: query.status }),
    });
    return { items: page.items.map((t) => tenantJson(t)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A tenant by id or slug, with its custom domains.' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', SERVICE_ERRORS)
  async get(@Param() params: TenantParams): Promise<Record<string, unknown>> {
    const tenant = await this.#tenancy.tenants.get(params.id);
    return tenantJson(tenant, { domains: await this.#tenancy.tenants.domains(tenant.id) });
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the display name and/or the slug (the schema keeps its name).' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_NOT_FOUND',
    'TENANT_EXISTS',
    'INVALID_STATE_TRANSITION',
    SERVICE_ERRORS,
  )
  async update(@Param() params: TenantParams, @Body() body: UpdateTenantDto): Promise<Record<string, unknown>> {
    if (body.name === undefined && body.slug === undefined) throw fieldError('name', 'give name and/or slug to change');
    let tenant = await this.#tenancy.tenants.get(params.id);
    const gone = (): TenantryError =>
      new TenantryError(ErrorCodes.TENANT_NOT_FOUND, `no tenant '${params.id}'`, { context: { tenant: params.id } });
    if (tenant.status === 'DELETED' || tenant.status === 'DELETING') throw gone();
    if (body.slug !== undefined) tenant = await this.#tenancy.tenants.rename(tenant.id, body.slug, { actor: ADMIN_ACTOR });
    const name = body.name?.trim();
    if (name !== undefined && name !== tenant.name)
      tenant = await this.#tenancy.tenants.update(tenant.id, { name }, { actor: ADMIN_ACTOR });
    return tenantJson(tenant);
  }

  @Post(':id/physical-name')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Rename the tenant's schema or database (and its role) on its server. A database's connections are drained first (terminated after drainMs); crash-safe. Idempotent.",
  })
  @ApiOkResponse({ type: TenantDto, description: 'The tenant under its new name.' })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    BODY_ERRORS,
    'INVALID_ARGUMENT',
    'TENANT_NOT_FOUND',
    'TENANT_EXISTS',
    'INVALID_STATE_TRANSITION',
    SERVICE_ERRORS,
  )
  async renamePhysical(@Param() params: TenantParams, @Body() body: RenamePhysicalDto): Promise<Record<string, unknown>> {
    return tenantJson(
      await this.#tenancy.tenants.renamePhysical(params.id, body.physicalName, {
        actor: ADMIN_ACTOR,
        ...(body.drainMs === undefined ? {} : { drainMs: body.drainMs }),
      }),
    );
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend: its requests fail with 403 TENANT_SUSPENDED. Idempotent.' })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, BODY_ERRORS, 'TENANT_NOT_FOUND', 'INVALID_STATE_TRANSITION', SERVICE_ERRORS)
  async suspend(@Param() params: TenantParams, @Body() body: SuspendTenantDto): Promise<Record<string, unknown>> {
    return tenantJson(
      await this.#tenancy.tenants.suspend(params.id, { actor: ADMIN_ACTOR, ...(body.reason === undefined ? {} : { reason: body.reason }) }),
    );
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Make a suspended tenant ACTIVE again; retry the migrations of a MIGRATION_FAILED one (ACTIVE when they succeed). Idempotent.',
  })
  @ApiOkResponse({ type: TenantDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', 'INVALID_STATE_TRANSITION', 'MIGRATION_FAILED', SERVICE_ERRORS)
  async resume(@Param() params: TenantParams): Promise<Record<string, unknown>> {
    return tenantJson(await this.#tenancy.tenants.resume(params.id, { actor: ADMIN_ACTOR }));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete: drops the schema; the registry row stays as DELETED and the slug is free again.' })
  @ApiOkResponse({ type: TenantDto, description: 'The tenant, DELETED.' })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', 'INVALID_STATE_TRANSITION', SERVICE_ERRORS)
  async remove(@Param() params: TenantParams): Promise<Record<string, unknown>> {
    return tenantJson(await this.#tenancy.tenants.delete(params.id, { actor: ADMIN_ACTOR }));
  }

  @Get(':id/activity')
  @ApiOperation({ summary: "The tenant's activity log, oldest first." })
  @ApiOkResponse({ type: [ActivityDto] })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', SERVICE_ERRORS)
  async activity(@Param() params: TenantParams, @Query() query: ActivityQuery): Promise<Record<string, unknown>[]> {
    const entries = await this.#tenancy.tenants.activity(params.id, query.limit === undefined ? {} : { limit: query.limit });
    return entries.map(activityJson);
  }

  @Get(':id/domains')
  @ApiOperation({ summary: "The tenant's custom domains." })
  @ApiOkResponse({ type: DomainsDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', SERVICE_ERRORS)
  async domains(@Param() params: TenantParams): Promise<{ domains: string[] }> {
    return { domains: await this.#tenancy.tenants.domains(params.id) };
  }

  @Post(':id/domains')
  @ApiOperation({ summary: 'Register a custom domain; requests whose Host is that domain reach the tenant.' })
  @ApiCreatedResponse({ type: DomainDto })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    BODY_ERRORS,
    'INVALID_DOMAIN',
    'TENANT_NOT_FOUND',
    'DOMAIN_EXISTS',
    'INVALID_STATE_TRANSITION',
    SERVICE_ERRORS,
  )
  async addDomain(@Param() params: TenantParams, @Body() body: AddDomainDto): Promise<{ domain: string; tenantId: string }> {
    const tenant = await this.#tenancy.tenants.get(params.id);
    const domain = await this.#tenancy.tenants.addDomain(tenant.id, body.domain, { actor: ADMIN_ACTOR });
    return { domain, tenantId: tenant.id };
  }

  @Delete(':id/domains/:domain')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a custom domain.' })
  @ApiNoContentResponse({ description: 'Removed.' })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'INVALID_DOMAIN', 'TENANT_NOT_FOUND', 'NOT_FOUND', SERVICE_ERRORS)
  async removeDomain(@Param() params: DomainParams): Promise<void> {
    const removed = await this.#tenancy.tenants.removeDomain(params.id, params.domain, { actor: ADMIN_ACTOR });
    if (!removed) throw new NotFoundException({ code: 'NOT_FOUND', message: `tenant '${params.id}' has no domain '${params.domain}'` });
  }

  @Post(':id/tokens')
  @ApiOperation({ summary: 'Issue a tenant token (JWT) for the tenant API.' })
  @ApiCreatedResponse({ type: IssuedTokenDto })
  @ApiErrors(
    ADMIN_ERRORS,
    PARAM_ERRORS,
    BODY_ERRORS,
    'TENANT_NOT_FOUND',
    'TENANT_SUSPENDED',
    'TENANT_NOT_READY',
    'TENANT_MIGRATION_FAILED',
    SERVICE_ERRORS,
  )
  async issueToken(@Param() params: TenantParams, @Body() body: IssueTokenDto): Promise<Record<string, unknown>> {
    // Only routable tenants get tokens: 404, 403 TENANT_SUSPENDED, 503 TENANT_NOT_READY otherwise.
    const tenant = await this.#tenancy.resolve(params.id);
    return { ...(await this.#tokens.issue(tenant.id, body.subject ?? 'admin', body.ttlSeconds ?? 86_400)) };
  }
}
