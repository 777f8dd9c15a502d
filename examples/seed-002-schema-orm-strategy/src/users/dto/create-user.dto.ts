import { IsEmail, IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** `POST /users`: the columns of seed 002's `users` table. */
export class CreateUserDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  name!: string;

  @IsEmail()
  @MaxLength(255)
  email!: string;
}
