import { IsBoolean, IsNotEmpty, IsOptional, IsString, Matches } from 'class-validator';

/** Text PostgreSQL can store: no NUL character, no lone UTF-16 surrogate. */
export const STORABLE_TEXT = /^(?:[^\0\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

export class CreatePostDto {
  @IsString()
  @IsNotEmpty()
  @Matches(STORABLE_TEXT, { message: 'title must be text without NUL characters' })
  title!: string;

  @IsString()
  @IsNotEmpty()
  @Matches(STORABLE_TEXT, { message: 'content must be text without NUL characters' })
  content!: string;

  @IsOptional()
  @IsBoolean()
  published?: boolean;
}
