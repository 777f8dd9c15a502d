import { IsEnum, IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { AccountType } from '../generated/prisma/enums.js';
import { STORABLE_TEXT } from '../text.js';

/** `POST /:tenantSlug/accounts`: an account added to the company's chart. */
export class CreateAccountDto {
  /** Four digits, e.g. `6200`. */
  @Matches(/^\d{4}$/, { message: 'code must be four digits, e.g. 6200' })
  code!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(STORABLE_TEXT, { message: 'name must be text without NUL characters' })
  name!: string;

  @IsEnum(AccountType)
  type!: AccountType;
}
