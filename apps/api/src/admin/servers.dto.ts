import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateBy, type ValidationOptions } from 'class-validator';

/** A server id as core accepts it (core checks it again). */
const SERVER_ID = /^[a-z][a-z0-9-]{0,62}$/;
const SERVER_ID_MESSAGE = '$property must be a server id: 1–63 lowercase letters, digits and hyphens, starting with a letter (e.g. eu-2)';
/** Scheme, then a host part; no whitespace or control characters anywhere. */
const PG_URL =
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  /^postgres(ql)?:\/\/[^/\s\u0000-\u001f\u007f]+[^\s\u0000-\u001f\u007f]*$/;

function isPostgresUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !PG_URL.test(value)) return false;
  try {
    return new URL(value).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A `postgres://` or `postgresql://` URL with a host. The message never quotes the value: it
 * carries a password.
 */
function IsPostgresUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPostgresUrl',
      validator: {
        validate: isPostgresUrl,
        defaultMessage: () =>
          '$property must be a postgres:// or postgresql:// URL with a host, e.g. postgres://user:password@db2:5432/app',
      },
    },
    options,
  );
}

// Validators run bottom-up and stop at a field's first failure (stopAtFirstError): the type
// check is the last decorator, so `capacity: '10'` reports 'capacity must be an integer number'.
export class AddServerDto {
  @ApiProperty({ example: 'eu-2', description: 'Its id: 1–63 lowercase letters, digits and hyphens, starting with a letter.' })
  @Matches(SERVER_ID, { message: SERVER_ID_MESSAGE })
  @IsString()
  id!: string;

  @ApiProperty({
    example: 'postgres://app:secret@db2:5432/app',
    maxLength: 2048,
    description: 'The database tenants live in. Stored encrypted (needs TENANTRY_ENCRYPTION_KEY); never returned.',
  })
  @IsPostgresUrl()
  @MaxLength(2048)
  @IsString()
  url!: string;

  @ApiPropertyOptional({
    example: 'postgres://app:secret@db2-replica:5432/app',
    maxLength: 2048,
    description: 'A read replica. Stored encrypted; never returned.',
  })
  @IsOptional()
  @IsPostgresUrl()
  @MaxLength(2048)
  @IsString()
  replicaUrl?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 1_000_000,
    example: 500,
    description: 'Most live tenants placed on it; unlimited when absent.',
  })
  @IsOptional()
  @Max(1_000_000)
  @Min(1)
  @IsInt()
  capacity?: number;
}

export class ServerParams {
  @ApiProperty({ description: 'server id', example: 'eu-2' })
  @Matches(SERVER_ID, { message: SERVER_ID_MESSAGE })
  @IsString()
  id!: string;
}
