import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

/** Seed 004's `POST /org/create` body. */
export class CreateOrgDto {
  @IsString()
  @IsNotEmpty()
  name!: string;

  /** The organisation's slug in URLs (`/org/<slug>/users`); made from `name` when absent (`AcmeCorp` → `acmecorp`). */
  @IsOptional()
  @IsString()
  slug?: string;
}
