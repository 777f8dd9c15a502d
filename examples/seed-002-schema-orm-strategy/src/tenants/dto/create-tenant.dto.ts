import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

/** `POST /tenants`. */
export class CreateTenantDto {
  @IsString()
  @IsNotEmpty()
  name!: string;

  /** The tenant's slug — its subdomain, `x-tenant-id` and `?tenant=` value; made from `name` when absent. */
  @IsOptional()
  @IsString()
  slug?: string;

  /**
   * The tenant's schema, e.g. `tenant_1` as in the seed (lowercase letters, digits, `_`; checked
   * by Tenantry: 400 `INVALID_ARGUMENT`, 409 `TENANT_EXISTS` when taken); `t_<id>` when absent.
   */
  @IsOptional()
  @IsString()
  schema?: string;
}
