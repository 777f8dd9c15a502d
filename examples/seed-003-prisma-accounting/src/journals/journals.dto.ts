import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { STORABLE_TEXT } from '../text.js';

/** A positive amount with at most two decimals, as a string (`"150.25"`): money is never a float. */
const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;

export class JournalLineDto {
  /** Account code of the company's chart, e.g. `1000`. */
  @IsString()
  account!: string;

  @IsOptional()
  @Matches(AMOUNT, { message: 'debit must be an amount such as "150.25"' })
  debit?: string;

  @IsOptional()
  @Matches(AMOUNT, { message: 'credit must be an amount such as "150.25"' })
  credit?: string;
}

/** `POST /:tenantSlug/journals`: a balanced entry, recorded in one transaction. */
export class JournalEntryDto {
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'date must be YYYY-MM-DD' })
  date!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  @Matches(STORABLE_TEXT, { message: 'description must be text without NUL characters' })
  description!: string;

  @IsArray()
  @ArrayMinSize(2)
  @ValidateNested({ each: true })
  @Type(() => JournalLineDto)
  lines!: JournalLineDto[];
}
