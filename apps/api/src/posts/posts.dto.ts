import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';

// Validators run bottom-up and stop at a field's first failure (stopAtFirstError): the type
// check is the last decorator, so `title: 42` reports 'title must be a string'.
export class CreatePostDto {
  @ApiProperty({ example: 'Tenant A Post', maxLength: 200 })
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  title!: string;

  @ApiProperty({ example: 'A content', maxLength: 50_000 })
  @MaxLength(50_000)
  @IsString()
  content!: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  published?: boolean;
}

export class UpdatePostDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @MaxLength(200)
  @MinLength(1)
  @IsString()
  title?: string;

  @ApiPropertyOptional({ maxLength: 50_000 })
  @IsOptional()
  @MaxLength(50_000)
  @IsString()
  content?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  published?: boolean;
}

export class PostParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all')
  id!: string;
}

export class ListPostsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @Max(100)
  @Min(1)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @Max(1_000_000)
  @Min(0)
  @IsInt()
  offset?: number;
}
