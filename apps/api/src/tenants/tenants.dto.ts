import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { TenantStatuses, type TenantStatus } from '@tenantry/core';

/** A slug as core accepts it (core checks it again). */
const SLUG = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;
const SLUG_MESSAGE = '$property must be 3–63 lowercase letters, digits and single hyphens, starting with a letter (e.g. acme-corp)';
/** A uuid or a slug. */
const ID_OR_SLUG = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-z][a-z0-9-]{1,61}[a-z0-9])$/;
/** A server id as core accepts it. */
const SERVER_ID = /^[a-z][a-z0-9-]{0,62}$/;
/** A physical name as core accepts it: core checks it (and the reserved names) with INVALID_ARGUMENT. */
const PHYSICAL_NAME_PATTERN = '^[a-z_][a-z0-9_]{0,62}$';
const PHYSICAL_NAME_DESCRIPTION =
  'The name of its schema or database and of its role; default: generated t_<id>. 1–63 lowercase letters, digits and underscores; pg_*, tenantry*, public, shared, information_schema, postgres, template0/1 and the generated t_<32 hex> form are refused (400 INVALID_ARGUMENT), a name another tenant on the server holds or a schema, database or role already there answers 409 TENANT_EXISTS.';
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

// Validators run bottom-up and stop at a field's first failure (stopAtFirstError): the type
// check is the last decorator, so `title: 42` reports 'title must be a string'.
export class CreateTenantDto {
  @ApiProperty({ example: 'Tenant A', maxLength: 200 })
  @Matches(NO_CONTROL, { message: '$property must not contain control characters' })
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  name!: string;

  @ApiPropertyOptional({ example: 'tenant-a', description: 'Derived from name when absent.' })
  @IsOptional()
  @Matches(SLUG, { message: SLUG_MESSAGE })
  @IsString()
  slug?: string;

  @ApiPropertyOptional({
    example: 'tenant-a',
    description: 'Reference-API alias of slug: the tenant is served at <subdomain>.<TENANTRY_BASE_DOMAIN>.',
  })
  @IsOptional()
  @Matches(SLUG, { message: SLUG_MESSAGE })
  @IsString()
  subdomain?: string;

  @ApiPropertyOptional({
    enum: ['schema', 'database'],
    description: 'A schema of its own (default) or a database of its own, cloned from the template.',
  })
  @IsOptional()
  @IsIn(['schema', 'database'], { message: "$property must be 'schema' or 'database'" })
  isolation?: 'schema' | 'database';

  @ApiPropertyOptional({
    example: 'eu-2',
    description: 'The server to place it on (GET /servers); default: the least-loaded one with room.',
  })
  @IsOptional()
  @Matches(SERVER_ID, { message: '$property must be a server id: 1–63 lowercase letters, digits and hyphens, starting with a letter' })
  @IsString()
  server?: string;

  @ApiPropertyOptional({ example: 'pro', maxLength: 100 })
  @IsOptional()
  @Matches(NO_CONTROL, { message: '$property must not contain control characters' })
  @MaxLength(100)
  @MinLength(1)
  @IsString()
  plan?: string;

  @ApiPropertyOptional({
    example: 'tenant_acmecorp',
    pattern: PHYSICAL_NAME_PATTERN,
    maxLength: 63,
    description: PHYSICAL_NAME_DESCRIPTION,
  })
  @IsOptional()
  @IsString()
  physicalName?: string;
}

export class RenamePhysicalDto {
  @ApiProperty({ example: 'tenant_acme_corp', pattern: PHYSICAL_NAME_PATTERN, maxLength: 63, description: PHYSICAL_NAME_DESCRIPTION })
  @IsString()
  physicalName!: string;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 60_000,
    default: 5000,
    description: "A database tenant's open connections get this long (ms) to be released before every connection to it is terminated.",
  })
  @IsOptional()
  @Max(60_000)
  @Min(0)
  @IsInt()
  drainMs?: number;
}

export class UpdateTenantDto {
  @ApiPropertyOptional({ example: 'Tenant A, Inc.' })
  @IsOptional()
  @Matches(NO_CONTROL, { message: '$property must not contain control characters' })
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  name?: string;

  @ApiPropertyOptional({ example: 'tenant-a-inc' })
  @IsOptional()
  @Matches(SLUG, { message: SLUG_MESSAGE })
  @IsString()
  slug?: string;
}

export class ListTenantsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @Max(1000)
  @Min(1)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @MaxLength(64)
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({ enum: TenantStatuses })
  @IsOptional()
  @IsIn(TenantStatuses)
  status?: TenantStatus;
}

export class TenantParams {
  @ApiProperty({ description: 'tenant id (uuid) or slug', example: 'tenant-a' })
  @Matches(ID_OR_SLUG, { message: '$property must be a tenant id (uuid) or slug' })
  @IsString()
  id!: string;
}

export class SuspendTenantDto {
  @ApiPropertyOptional({ example: 'unpaid invoice', maxLength: 500 })
  @IsOptional()
  @Matches(NO_CONTROL, { message: '$property must not contain control characters' })
  @MaxLength(500)
  @MinLength(1)
  @IsString()
  reason?: string;
}

export class ActivityQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 10000, default: 1000 })
  @IsOptional()
  @Type(() => Number)
  @Max(10_000)
  @Min(1)
  @IsInt()
  limit?: number;
}

export class AddDomainDto {
  @ApiProperty({ example: 'app.tenant-a.com' })
  @MaxLength(253)
  @MinLength(3)
  @IsString()
  domain!: string;
}

export class DomainParams extends TenantParams {
  @ApiProperty({ example: 'app.tenant-a.com' })
  @MaxLength(253)
  @MinLength(3)
  @IsString()
  domain!: string;
}

export class IssueTokenDto {
  @ApiPropertyOptional({ example: 'ci-bot', description: 'The token subject (sub). Default `admin`.', maxLength: 200 })
  @IsOptional()
  @Matches(NO_CONTROL, { message: '$property must not contain control characters' })
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  subject?: string;

  @ApiPropertyOptional({ minimum: 60, maximum: 2_592_000, default: 86_400, description: 'Lifetime in seconds.' })
  @IsOptional()
  @Max(2_592_000)
  @Min(60)
  @IsInt()
  ttlSeconds?: number;
}
