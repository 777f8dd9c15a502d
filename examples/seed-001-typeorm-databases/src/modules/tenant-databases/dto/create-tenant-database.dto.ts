import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

/** `POST /tenant-databases`: seed 001's `createTenantDatabase({ tenantId, databaseName? })`. */
export class CreateTenantDatabaseDto {
  /** The tenant's slug: 3–63 lowercase letters, digits and hyphens. */
  @IsString()
  @IsNotEmpty()
  tenantId!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  name?: string;

  /**
   * Optional, e.g. `tenant_abc123`: 1–63 lowercase letters, digits and underscores, starting with
   * a letter or underscore, not reserved — checked by Tenantry (400 `INVALID_ARGUMENT`).
   */
  @IsOptional()
  @IsString()
  databaseName?: string;
}
