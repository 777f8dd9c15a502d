import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { PLANS } from './plans.js';

/** `POST /tenants`: seed 003's `provisionTenant({ slug, name, plan })`. */
export class CreateTenantDto {
  /** The company in URLs, `/pt-media-nusa/...`: lowercase letters, digits and hyphens (checked by Tenantry). */
  @IsString()
  slug!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  /** Default STARTER, as the seed's example provisions. */
  @IsOptional()
  @IsIn(PLANS)
  plan?: string;
}

/** `PATCH /tenants/:slug`: a plan change (upgrade or downgrade) and/or a new name. */
export class UpdateTenantDto {
  @IsOptional()
  @IsIn(PLANS)
  plan?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;
}
