import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ErrorCode } from '@tenantry/core';
import { HttpErrorCodes, TENANTRY_HTTP_STATUS } from '@tenantry/nestjs';
import { ErrorBodyDto } from './responses.dto.js';

/** Codes the reference API answers with besides Tenantry's own, and their statuses. */
const API_HTTP_STATUS = {
  [HttpErrorCodes.UNAUTHORIZED]: 401,
  [HttpErrorCodes.TENANT_MISMATCH]: 403,
  [HttpErrorCodes.VALIDATION_FAILED]: 400,
  [HttpErrorCodes.INVALID_JSON]: 400,
  NOT_FOUND: 404,
  USER_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
} as const;

/** An error code a route can answer with. */
export type ApiErrorCode = ErrorCode | keyof typeof API_HTTP_STATUS;

/** A bad body: not JSON, too large, or a field that fails validation. */
export const BODY_ERRORS: readonly ApiErrorCode[] = ['VALIDATION_FAILED', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE'];
/** A bad path or query parameter. */
export const PARAM_ERRORS: readonly ApiErrorCode[] = ['VALIDATION_FAILED'];
/** Admin routes: the admin token is missing or wrong. */
export const ADMIN_ERRORS: readonly ApiErrorCode[] = ['UNAUTHORIZED'];
/**
 * Finding the request's tenant: none given, unknown, or not routable (suspended, not ready,
 * migration failed); or the tenant is over its plan's request rate (429, with `Retry-After`).
 */
export const TENANT_ERRORS: readonly ApiErrorCode[] = [
  'TOO_MANY_REQUESTS',
  'TENANT_REQUIRED',
  'INVALID_TENANT_ID',
  'TENANT_NOT_FOUND',
  'TENANT_SUSPENDED',
  'TENANT_NOT_READY',
  'TENANT_MIGRATION_FAILED',
];
/** Tenant routes behind a tenant token: missing, invalid, or another tenant's. */
export const TENANT_TOKEN_ERRORS: readonly ApiErrorCode[] = ['UNAUTHORIZED', 'TENANT_MISMATCH'];
/** Anything that reaches a database: the server is down or every connection is busy, or a bug. */
export const SERVICE_ERRORS: readonly ApiErrorCode[] = ['SERVER_UNAVAILABLE', 'CONNECTION_BUDGET_EXHAUSTED', 'INTERNAL'];

/** A code a route answers with another status than its usual one (e.g. 422 SERVER_UNAVAILABLE for a bad server URL). */
export interface ApiErrorAt {
  readonly status: number;
  readonly code: ApiErrorCode;
}

/** The HTTP status an error code is answered with. */
export function statusOf(code: ApiErrorCode): number {
  return (API_HTTP_STATUS as Record<string, number>)[code] ?? TENANTRY_HTTP_STATUS[code as ErrorCode] ?? 500;
}

/**
 * Documents the errors a route answers with: one OpenAPI response per status, whose body is the
 * error body (`ErrorBodyDto`) with `code` restricted to the codes listed for that status. Give
 * every code the route can produce (groups above, or single codes), once per route: responses of
 * the same status would otherwise replace each other.
 *
 * @example
 * ```ts
 * @Get(':id')
 * @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, 'TENANT_NOT_FOUND', SERVICE_ERRORS)
 * get(@Param() params: TenantParams) { … }
 * ```
 */
export function ApiErrors(...codes: (ApiErrorCode | ApiErrorAt | readonly ApiErrorCode[])[]): MethodDecorator {
  const byStatus = new Map<number, Set<ApiErrorCode>>();
  for (const entry of codes.flat()) {
    const code = typeof entry === 'string' ? entry : entry.code;
    const status = typeof entry === 'string' ? statusOf(entry) : entry.status;
    let set = byStatus.get(status);
    if (set === undefined) byStatus.set(status, (set = new Set()));
    set.add(code);
  }
  const responses = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, set]) => {
      const list = [...set].sort();
      return ApiResponse({
        status,
        description: list.join(', '),
        schema: {
          allOf: [{ $ref: getSchemaPath(ErrorBodyDto) }, { type: 'object', properties: { code: { type: 'string', enum: list } } }],
        },
      });
    });
  return applyDecorators(ApiExtraModels(ErrorBodyDto), ...responses);
}
