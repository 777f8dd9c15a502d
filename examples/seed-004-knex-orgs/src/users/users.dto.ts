import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsEmail, IsInt, IsNotEmpty, IsString, Matches, ValidateNested } from 'class-validator';

/** Text PostgreSQL can store: no NUL character, no lone UTF-16 surrogate. */
const STORABLE_TEXT = /^(?:[^\0\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

export class CreateUserDto {
  @IsString()
  @IsNotEmpty()
  @Matches(STORABLE_TEXT, { message: 'name must be text without NUL characters' })
  name!: string;

  @IsEmail()
  email!: string;
}

export class RenameDto {
  @IsInt()
  id!: number;

  @IsString()
  @IsNotEmpty()
  @Matches(STORABLE_TEXT, { message: 'name must be text without NUL characters' })
  name!: string;
}

/** `POST /org/:org/users/rename`: renamed together, or not at all. */
export class RenameUsersDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => RenameDto)
  changes!: RenameDto[];
}
