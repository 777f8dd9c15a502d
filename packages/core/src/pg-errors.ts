/**
 * How Tenantry reads a PostgreSQL failure: by SQLSTATE, in one table (as graphile-worker keeps
 * its own). The one question asked of it today is whether the connection can still be trusted:
 * a connection-level failure destroys the connection instead of returning it to the pool.
 * PostgreSQL errors themselves are passed through to callers unchanged (with `code` = SQLSTATE).
 */

/** How Tenantry treats a PostgreSQL failure. */
export interface PgErrorClass {
  /** The connection cannot be trusted afterwards and is destroyed, not reused. */
  readonly connectionLevel: boolean;
}

const CONNECTION_LEVEL: PgErrorClass = Object.freeze({ connectionLevel: true });
const STATEMENT_LEVEL: PgErrorClass = Object.freeze({ connectionLevel: false });

/** SQLSTATE classes (two characters) and exact codes; an exact code wins over its class. */
const TABLE: Readonly<Record<string, PgErrorClass>> = {
  // Class 08 — connection exception
  '08': CONNECTION_LEVEL,
  // 53300 too_many_connections (the session never started); other 53xxx leave the session usable
  '53300': CONNECTION_LEVEL,
  // 57P01 admin_shutdown (pg_terminate_backend), 57P02 crash_shutdown, 57P03 cannot_connect_now, …
  '57P01': CONNECTION_LEVEL,
  '57P02': CONNECTION_LEVEL,
  '57P03': CONNECTION_LEVEL,
  '57P04': CONNECTION_LEVEL,
  '57P05': CONNECTION_LEVEL,
  // XX — internal error; the backend may be in a bad state
  XX: CONNECTION_LEVEL,
};

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

/**
 * Classifies a failure from `pg`. Errors without a SQLSTATE (socket closed, timeout, protocol
 * confusion) are connection-level.
 */
export function classifyPgError(err: unknown): PgErrorClass {
  const state = sqlState(err);
  if (state === undefined) return CONNECTION_LEVEL;
  return TABLE[state] ?? TABLE[state.slice(0, 2)] ?? STATEMENT_LEVEL;
}
