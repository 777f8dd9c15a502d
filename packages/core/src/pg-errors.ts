import { ErrorCodes, TenantryError, type ErrorCode } from './errors.js';

/** How Tenantry treats a PostgreSQL failure. */
export interface PgErrorClass {
  /** The Tenantry code it maps to when Tenantry itself reports it. */
  readonly code: ErrorCode;
  /** The connection cannot be trusted afterwards and is destroyed, not reused. */
  readonly connectionLevel: boolean;
  /** Retrying the same work may succeed. */
  readonly retryable: boolean;
}

/**
 * SQLSTATE classes and codes, in one table (as graphile-worker keeps its own). Exact codes
 * win over their two-character class.
 */
const TABLE: Record<string, PgErrorClass> = {
  // Class 08 — connection exception
  '08': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true },
  // 53300 too_many_connections, 53xxx insufficient resources
  '53300': { code: ErrorCodes.CONNECTION_BUDGET_EXHAUSTED, connectionLevel: true, retryable: true },
  '53': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: false, retryable: true },
  // 57P01 admin_shutdown (pg_terminate_backend), 57P02 crash_shutdown, 57P03 cannot_connect_now
  '57P01': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true },
  '57P02': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true },
  '57P03': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true },
  '57P04': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true },
  '57P05': { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true },
  // 40001 serialization_failure, 40P01 deadlock_detected
  '40001': { code: ErrorCodes.INTERNAL, connectionLevel: false, retryable: true },
  '40P01': { code: ErrorCodes.INTERNAL, connectionLevel: false, retryable: true },
  // 23505 unique_violation
  '23505': { code: ErrorCodes.TENANT_EXISTS, connectionLevel: false, retryable: false },
  // 3D000 invalid_catalog_name (database missing), 3F000 invalid_schema_name, 42P01 undefined_table
  '3D000': { code: ErrorCodes.TENANT_NOT_FOUND, connectionLevel: false, retryable: false },
  '3F000': { code: ErrorCodes.TENANT_NOT_FOUND, connectionLevel: false, retryable: false },
  // XX — internal error; the backend may be in a bad state
  XX: { code: ErrorCodes.INTERNAL, connectionLevel: true, retryable: false },
};

const DEFAULT_CLASS: PgErrorClass = { code: ErrorCodes.INTERNAL, connectionLevel: false, retryable: false };
/** Errors with no SQLSTATE: socket closed, timeout, protocol confusion. */
const NO_SQLSTATE: PgErrorClass = { code: ErrorCodes.SERVER_UNAVAILABLE, connectionLevel: true, retryable: true };

/** The SQLSTATE of a PostgreSQL error, or undefined for anything else. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for errors raised by the PostgreSQL server (they carry a SQLSTATE and a severity). */
export function isServerError(err: unknown): boolean {
  return sqlState(err) !== undefined && typeof (err as { severity?: unknown }).severity === 'string';
}

/** Classifies a failure from `pg`. Errors without a SQLSTATE are treated as connection-level. */
export function classifyPgError(err: unknown): PgErrorClass {
  const state = sqlState(err);
  if (state === undefined) return NO_SQLSTATE;
  return TABLE[state] ?? TABLE[state.slice(0, 2)] ?? DEFAULT_CLASS;
}

/** Wraps a failure to reach a server into `SERVER_UNAVAILABLE`, keeping the original as cause. */
export function serverUnavailable(server: string, cause: unknown): TenantryError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TenantryError(
    ErrorCodes.SERVER_UNAVAILABLE,
    `PostgreSQL server '${server}' is unavailable (${detail}); check that it is running and reachable`,
    { cause, context: { server } },
  );
}
