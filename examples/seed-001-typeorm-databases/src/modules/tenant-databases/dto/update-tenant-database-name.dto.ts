import { IsString } from 'class-validator';

/** `PATCH /tenant-databases/:tenantId`: seed 001's `updateTenantDatabaseName(tenantId, newDatabaseName)`. */
export class UpdateTenantDatabaseNameDto {
  /** The new name, by the rules of `databaseName` (400 `INVALID_ARGUMENT`; 409 `TENANT_EXISTS` when taken). */
  @IsString()
  databaseName!: string;
}
