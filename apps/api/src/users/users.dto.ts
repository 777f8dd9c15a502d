import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

// Validators run bottom-up and stop at a field's first failure (stopAtFirstError): the type
// check is the last decorator, so `title: 42` reports 'title must be a string'.
export class CreateUserDto {
  @ApiProperty({ example: 'alice@tenant-a.test', maxLength: 254 })
  @IsEmail()
  @MaxLength(254)
  @IsString()
  email!: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 8, maxLength: 200 })
  @MaxLength(200)
  @MinLength(8)
  @IsString()
  password!: string;
}

export class LoginDto {
  @ApiProperty({ example: 'alice@tenant-a.test' })
  @IsEmail()
  @MaxLength(254)
  @IsString()
  email!: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  password!: string;
}
