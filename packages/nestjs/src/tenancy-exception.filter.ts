import { Catch, HttpException, HttpStatus, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { isTenantryError, type ErrorCode, type TenantryError } from '@tenantry/core';
import { HttpErrorCodes } from './http-errors.js';

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly statusCode: number;
  /** Stable, machine-readable: branch on this, not on `message`. */
  readonly code: string;
  readonly message: string;
  /** Field-level messages of a `VALIDATION_FAILED`. */
  readonly errors?: readonly unknown[];
}

/** An HTTP answer for an exception. */
export interface HttpErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * HTTP status of each Tenantry error code — every code, checked by the compiler: a code added
 * to `ErrorCodes` without its status here does not build. A 5xx answers with a generic message
 * (the details go to the log, not to the client), except a 503, which says when to retry.
 */
export const TENANTRY_HTTP_STATUS = Object.freeze({
  TENANT_REQUIRED: 400,
  INVALID_TENANT_ID: 400,
  INVALID_ARGUMENT: 400,
  INVALID_DOMAIN: 400,
  TENANT_NOT_FOUND: 404,
  TENANT_SUSPENDED: 403,
  TENANT_MISMATCH: 403,
  TENANT_NOT_READY: 503,
  TENANT_EXISTS: 409,
  DOMAIN_EXISTS: 409,
  INVALID_STATE_TRANSITION: 409,
  CONNECTION_BUDGET_EXHAUSTED: 503,
  SERVER_UNAVAILABLE: 503,
  NO_SERVER_CAPACITY: 503,
  SERVER_NOT_FOUND: 404,
  SERVER_EXISTS: 409,
  SERVER_DRAINING: 409,
  SERVER_IN_USE: 409,
  CATALOG_DRIFTED: 409,
  ARCHIVE_INVALID: 422,
  // Out of service until an operator fixes the migration: 503 without Retry-After (no retry
  // will succeed by itself), and a code of its own.
  TENANT_MIGRATION_FAILED: 503,
  IDEMPOTENCY_KEY_REUSED: 422,
  // Operator and server-side failures: the client can do nothing about them.
  PROVISIONING_FAILED: 500,
  MIGRATION_INVALID: 500,
  MIGRATION_CHECKSUM_MISMATCH: 500,
  MIGRATION_IRREVERSIBLE: 500,
  MIGRATION_FAILED: 500,
  ENCRYPTION_KEY_REQUIRED: 500,
  ENCRYPTION_KEY_MISMATCH: 500,
  UNIT_OF_WORK_CLOSED: 500,
  TRANSACTION_ABORTED: 500,
  TENANCY_CLOSED: 500,
  INTERNAL: 500,
} satisfies Record<ErrorCode, number>) as Readonly<Record<ErrorCode, number>>;

/** Codes for Nest's own HTTP errors, by status. */
const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: HttpErrorCodes.UNAUTHORIZED,
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  410: 'GONE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

const INTERNAL_MESSAGE = 'Internal server error';

function fromTenantryError(err: TenantryError): HttpErrorResponse {
  const status: number = TENANTRY_HTTP_STATUS[err.code] ?? 500;
  const tenant = err.context.tenant;
  const headers: Record<string, string> = {};
  let message = err.message;
  switch (err.code) {
    case 'TENANT_NOT_READY': {
      const seconds = err.context.retryAfterSeconds ?? 5;
      headers['Retry-After'] = String(seconds);
      // The core message may carry a provisioning failure's detail: keep it in the log.
      message = `tenant ${tenant === undefined ? '' : `'${tenant}' `}is not ready; retry in ${seconds} seconds`;
      break;
    }
    case 'CONNECTION_BUDGET_EXHAUSTED':
      headers['Retry-After'] = '1';
      message = 'the service is busy; retry in a moment';
      break;
    case 'SERVER_UNAVAILABLE':
      headers['Retry-After'] = '5';
      message = 'the database is unavailable; retry in a few seconds';
      break;
    case 'PROVISIONING_FAILED':
      // Why is in the log (it may name servers and SQL); the caller learns what to do.
      message = `tenant ${tenant === undefined ? '' : `'${tenant}' `}could not be provisioned and nothing was kept; the service log has the cause — delete the FAILED tenant and create it again`;
      break;
    case 'TENANT_MIGRATION_FAILED':
      // The migration's error is for the log; the caller learns the state and that it is not theirs to fix.
      message = `tenant ${tenant === undefined ? '' : `'${tenant}' `}is out of service: a migration failed on it. Its data is intact; the service's operators must fix the migration and run it again`;
      break;
    case 'NO_SERVER_CAPACITY':
      message = 'no database server has room for another tenant; add a server or raise a capacity';
      break;
    // Core's messages tell a developer which library call fixes it; an API client gets the fact.
    case 'TENANT_NOT_FOUND':
      if (tenant !== undefined) message = `no tenant '${tenant}'`;
      break;
    case 'TENANT_SUSPENDED':
      if (tenant !== undefined) message = `tenant '${tenant}' is suspended`;
      break;
    default:
      if (status >= 500) message = INTERNAL_MESSAGE;
  }
  return { status, body: { statusCode: status, code: err.code, message }, headers };
}

function fromHttpException(err: HttpException): HttpErrorResponse {
  const status = err.getStatus();
  const response = err.getResponse();
  const r = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
  let code = typeof r['code'] === 'string' ? r['code'] : undefined;
  let message: string;
  let errors: readonly unknown[] | undefined = Array.isArray(r['errors']) ? (r['errors'] as unknown[]) : undefined;
  if (typeof response === 'string') message = response;
  else if (Array.isArray(r['message'])) {
    // Nest's default ValidationPipe: a list of messages.
    const list = (r['message'] as unknown[]).map(String);
    message = list[0] ?? 'validation failed';
    errors ??= list;
    code ??= HttpErrorCodes.VALIDATION_FAILED;
  } else message = typeof r['message'] === 'string' ? r['message'] : err.message;
  if (status === 400 && err.cause instanceof SyntaxError) {
    code ??= HttpErrorCodes.INVALID_JSON;
    message = 'the request body is not valid JSON';
  }
  code ??= STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'HTTP_ERROR');
  if (status >= 500 && status !== 503) message = INTERNAL_MESSAGE;
  const body: ErrorBody = errors === undefined ? { statusCode: status, code, message } : { statusCode: status, code, message, errors };
  const headers: Record<string, string> = {};
  const retry = r['retryAfterSeconds'];
  if (typeof retry === 'number') headers['Retry-After'] = String(retry);
  return { status, body, headers };
}

/**
 * Turns any exception into the HTTP answer Tenantry's API gives: a JSON body
 * `{ statusCode, code, message }` (plus `errors` for validation). Tenantry codes map by
 * {@link TENANTRY_HTTP_STATUS}; Nest's `HttpException`s keep their status and get a code
 * (`NOT_FOUND`, `UNAUTHORIZED`, `VALIDATION_FAILED`, …, or the `code` of their response object);
 * anything else is a 500 whose details only reach the log.
 */
export function toHttpError(exception: unknown): HttpErrorResponse {
  if (isTenantryError(exception)) return fromTenantryError(exception);
  if (exception instanceof HttpException) return fromHttpException(exception);
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { statusCode: 500, code: 'INTERNAL', message: INTERNAL_MESSAGE }, headers: {} };
}

/**
 * The exception filter `TenancyModule` registers globally (unless `exceptionFilter: false`).
 * Use it alone with `app.useGlobalFilters(new TenancyExceptionFilter(app.get(HttpAdapterHost)))`.
 */
@Catch()
export class TenancyExceptionFilter implements ExceptionFilter {
  readonly #logger = new Logger('TenancyExceptionFilter');
  readonly #adapterHost: HttpAdapterHost;

  constructor(@Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
    this.#adapterHost = adapterHost;
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const { status, body, headers } = toHttpError(exception);
    if (status >= 500) {
      this.#logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    const adapter = this.#adapterHost.httpAdapter;
    const res = host.switchToHttp().getResponse<{ headersSent?: boolean; sent?: boolean }>();
    if (res.headersSent === true || res.sent === true) return;
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(res, name, value);
    adapter.reply(res, body, status);
  }
}
