import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import type { OnMigrationError } from '@tenantry/core';

/** A uuid or a slug (core checks each again). */
const ID_OR_SLUG = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-z][a-z0-9-]{1,61}[a-z0-9])$/;
const ON_ERROR: readonly OnMigrationError[] = ['stop', 'continue', 'rollback-all'];

// Validators run bottom-up and stop at a field's first failure (stopAtFirstError): the type
// check is the last decorator. `tenants` is checked as an array, then its size, then each item.
export class MigrateDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['acme', 'globex'],
    maxItems: 10_000,
    description: 'Tenant ids or slugs; default every tenant that can be migrated.',
  })
  @IsOptional()
  @Matches(ID_OR_SLUG, { each: true, message: 'each value in $property must be a tenant id (uuid) or slug' })
  @IsString({ each: true, message: 'each value in $property must be a string' })
  @ArrayMaxSize(10_000)
  @ArrayMinSize(1, { message: '$property must list at least one tenant; leave it out to migrate every tenant' })
  @IsArray()
  tenants?: string[];

  @ApiPropertyOptional({ minimum: 1, maximum: 64, default: 4, description: 'Tenants migrated at once (at most TENANTRY_POOL_MAX - 1).' })
  @IsOptional()
  @Max(64)
  @Min(1)
  @IsInt()
  concurrency?: number;

  @ApiPropertyOptional({
    enum: ON_ERROR,
    default: 'stop',
    description:
      "stop: start no further tenant after a failure; continue: migrate the others; rollback-all: stop and undo this run's migrations.",
  })
  @IsOptional()
  @IsIn(ON_ERROR, { message: "$property must be 'stop', 'continue' or 'rollback-all'" })
  onError?: OnMigrationError;

  @ApiPropertyOptional({ minimum: 1, maximum: 1_000_000, description: 'Migrate this many tenants first; if any fails, touch no other.' })
  @IsOptional()
  @Max(1_000_000)
  @Min(1)
  @IsInt()
  canary?: number;

  @ApiPropertyOptional({ default: false, description: 'Report what would be applied, from the registry alone; change nothing.' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class RollbackDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 1, description: "How many of each tenant's latest migrations to undo." })
  @IsOptional()
  @Max(1000)
  @Min(1)
  @IsInt()
  steps?: number;

  @ApiPropertyOptional({
    type: [String],
    example: ['acme'],
    maxItems: 10_000,
    description: 'Tenant ids or slugs. Give these, or all: true — never both.',
  })
  @ValidateIf((o: RollbackDto) => o.tenants !== undefined || o.all !== true)
  @Matches(ID_OR_SLUG, { each: true, message: 'each value in $property must be a tenant id (uuid) or slug' })
  @IsString({ each: true, message: 'each value in $property must be a string' })
  @ArrayMaxSize(10_000)
  @ArrayMinSize(1, { message: '$property must list at least one tenant; to roll back every tenant send all: true instead' })
  @IsArray({
    message:
      '$property must list the tenants to roll back, or send all: true to roll back every tenant (their down parts drop tables and data)',
  })
  tenants?: string[];

  @ApiPropertyOptional({ description: 'Roll back EVERY tenant (instead of tenants). Down parts may drop tables and their data.' })
  @ValidateIf((o: RollbackDto) => o.all !== undefined)
  @IsIn([true], { message: '$property must be true (and tenants left out) to roll back every tenant' })
  @IsBoolean()
  all?: boolean;

  @ApiPropertyOptional({ minimum: 1, maximum: 64, default: 4, description: 'Tenants rolled back at once (at most TENANTRY_POOL_MAX - 1).' })
  @IsOptional()
  @Max(64)
  @Min(1)
  @IsInt()
  concurrency?: number;
}
