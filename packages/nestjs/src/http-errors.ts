import { BadRequestException, ForbiddenException, UnauthorizedException } from '@nestjs/common';

/** Codes the NestJS layer adds to Tenantry's own (`TenantryError` codes). */
export const HttpErrorCodes = {
  /** A token's tenant is not the tenant of the request (e.g. tenant A's token sent to tenant B). */
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  /** The bearer token is missing, malformed, forged or expired. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A body, query or path parameter failed validation; `errors` says which and why. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** The request body is not valid JSON. */
  INVALID_JSON: 'INVALID_JSON',
} as const;

/**
 * 403 `TENANT_MISMATCH`: the caller is authenticated for another tenant than the one the
 * request resolved to.
 */
export class TenantMismatchError extends ForbiddenException {
  constructor(message = 'the token was issued for another tenant than the one this request is for') {
    super({ code: HttpErrorCodes.TENANT_MISMATCH, message });
  }
}

/** 401 `UNAUTHORIZED` with a message that says what is wrong, never the token. */
export class InvalidTokenError extends UnauthorizedException {
  constructor(message = 'the bearer token is invalid or expired') {
    super({ code: HttpErrorCodes.UNAUTHORIZED, message });
  }
}

/** One field's validation failure. */
export interface FieldError {
  /** Dotted path of the field, e.g. `title` or `items.0.name`. */
  readonly field: string;
  readonly messages: readonly string[];
}

/** The shape of class-validator's `ValidationError` that {@link validationExceptionFactory} reads. */
export interface ValidationErrorLike {
  readonly property: string;
  readonly constraints?: Readonly<Record<string, string>>;
  readonly children?: readonly ValidationErrorLike[];
}

function flatten(errors: readonly ValidationErrorLike[], parent: string, out: FieldError[]): FieldError[] {
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const messages = Object.values(e.constraints ?? {});
    if (messages.length > 0) out.push({ field, messages });
    if (e.children && e.children.length > 0) flatten(e.children, field, out);
  }
  return out;
}

/**
 * `exceptionFactory` for Nest's `ValidationPipe`: a 400 `VALIDATION_FAILED` whose `errors` lists
 * each field with its messages.
 *
 * @example
 * ```ts
 * app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true,
 *   exceptionFactory: validationExceptionFactory }));
 * // 400 { statusCode: 400, code: 'VALIDATION_FAILED', message: 'title must be a string',
 * //       errors: [{ field: 'title', messages: ['title must be a string'] }] }
 * ```
 */
export function validationExceptionFactory(errors: readonly ValidationErrorLike[]): BadRequestException {
  const fields = flatten(errors, '', []);
  const first = fields[0]?.messages[0];
  const message =
    first === undefined
      ? 'validation failed'
      : fields.length === 1 && fields[0]!.messages.length === 1
        ? first
        : `${first} (and ${fields.reduce((n, f) => n + f.messages.length, 0) - 1} more)`;
  return new BadRequestException({ code: HttpErrorCodes.VALIDATION_FAILED, message, errors: fields });
}
