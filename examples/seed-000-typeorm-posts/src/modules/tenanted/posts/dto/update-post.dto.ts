import { IsBoolean, IsNotEmpty, IsOptional, IsString, Matches } from 'class-validator';
import { STORABLE_TEXT } from './create-post.dto.js';

/** `PATCH /posts/:id`: any field of {@link CreatePostDto}. */
export class UpdatePostDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @Matches(STORABLE_TEXT, { message: 'title must be text without NUL characters' })
  title?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @Matches(STORABLE_TEXT, { message: 'content must be text without NUL characters' })
  content?: string;

  @IsOptional()
  @IsBoolean()
  published?: boolean;
}
