import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

/** Seed 000's `POST /tenants` body. */
export class CreateTenantDto {
  @IsString()
  @IsNotEmpty()
  name!: string;

  /** Becomes the tenant's slug (3–63 lowercase letters, digits, hyphens); made from `name` when absent. */
  @IsOptional()
  @IsString()
  subdomain?: string;
}
