import { IsEmail, IsEnum, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { UserRole } from '../generated/prisma/enums.js';
import { STORABLE_TEXT } from '../text.js';

export class CreateUserDto {
  @IsEmail()
  email!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(STORABLE_TEXT, { message: 'name must be text without NUL characters' })
  name!: string;

  /** Default ACCOUNTANT. */
  @IsOptional()
  @IsEnum(UserRole)
  role?: UserRole;
}
