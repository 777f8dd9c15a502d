import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

/** `POST /tenants/restore?slug=…&name=…`: the new tenant an archive is restored into. */
export class RestoreTenantQuery {
  @IsString()
  @IsNotEmpty()
  slug!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  name?: string;
}
