import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

// Core checks every value again; these give 400s with field names before any work starts.
const SLUG = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;
const SERVER_ID = /^[a-z][a-z0-9-]{0,62}$/;
const TIERS = ['schema', 'database'] as const;

export class CloneTenantDto {
  @ApiProperty({ example: 'demo-42', description: "the new tenant's slug" })
  @Matches(SLUG, { message: '$property must be 3–63 lowercase letters, digits and single hyphens, starting with a letter' })
  @IsString()
  slug!: string;

  @ApiPropertyOptional({ example: 'Demo 42', maxLength: 200 })
  @IsOptional()
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  name?: string;

  @ApiPropertyOptional({ example: 'eu-2', description: 'server id; default: the least-loaded with room' })
  @IsOptional()
  @Matches(SERVER_ID, { message: '$property must be a server id (lowercase letters, digits and hyphens, starting with a letter)' })
  @IsString()
  server?: string;

  @ApiPropertyOptional({ enum: TIERS, description: "default: the source's tier" })
  @IsOptional()
  @IsIn(TIERS)
  @IsString()
  isolation?: (typeof TIERS)[number];
}

export class MoveTenantDto {
  @ApiPropertyOptional({ example: 'eu-2', description: 'server id; default: where it is' })
  @IsOptional()
  @Matches(SERVER_ID, { message: '$property must be a server id (lowercase letters, digits and hyphens, starting with a letter)' })
  @IsString()
  server?: string;

  @ApiPropertyOptional({ enum: TIERS, description: 'default: its tier' })
  @IsOptional()
  @IsIn(TIERS)
  @IsString()
  isolation?: (typeof TIERS)[number];

  @ApiPropertyOptional({ minimum: 0, maximum: 87_600, example: 168, description: 'hours the old copy is kept; 0 drops it at once' })
  @IsOptional()
  @Max(87_600)
  @Min(0)
  @IsInt()
  retainHours?: number;

  @ApiPropertyOptional({
    description:
      'absent: online (logical replication) where the source server allows it, else offline; true: online or fail; false: offline',
  })
  @IsOptional()
  @IsBoolean()
  online?: boolean;

  @ApiPropertyOptional({
    minimum: 100,
    maximum: 60_000,
    example: 5000,
    description: 'online: the longest new work waits at the cutover, in ms',
  })
  @IsOptional()
  @Max(60_000)
  @Min(100)
  @IsInt()
  cutoverTimeoutMs?: number;
}

const FORMATS = ['tenantry', 'pg_dump'] as const;

/** What `POST /admin/tenants/:id/restore` reads: the body's format. */
export class RestoreInPlaceQuery {
  @ApiPropertyOptional({
    enum: FORMATS,
    description:
      "tenantry (default: Tenantry's archive) or pg_dump (a pg_dump --format=custom archive of one tenant, loaded by the target server's pg_restore into a scratch database and checked first)",
  })
  @IsOptional()
  @IsIn(FORMATS)
  @IsString()
  format?: (typeof FORMATS)[number];
}

/** Where `POST /admin/tenants/restore` puts the archive: query parameters, the body is the archive. */
export class RestoreTenantQuery extends RestoreInPlaceQuery {
  @ApiProperty({ example: 'acme-restored', description: "the new tenant's slug" })
  @Matches(SLUG, { message: '$property must be 3–63 lowercase letters, digits and single hyphens, starting with a letter' })
  @IsString()
  slug!: string;

  @ApiPropertyOptional({ example: 'Acme (restored)', maxLength: 200, description: "default: the archived tenant's" })
  @IsOptional()
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  name?: string;

  @ApiPropertyOptional({ example: 'eu-2', description: 'server id; default: the least-loaded with room' })
  @IsOptional()
  @Matches(SERVER_ID, { message: '$property must be a server id (lowercase letters, digits and hyphens, starting with a letter)' })
  @IsString()
  server?: string;

  @ApiPropertyOptional({ enum: TIERS, description: "default: the archived tenant's tier" })
  @IsOptional()
  @IsIn(TIERS)
  @IsString()
  isolation?: (typeof TIERS)[number];
}
