/**
 * Every error Tenantry raises is a {@link TenantryError} with a stable `code`. Callers branch
 * on `code`, never on the message. See `docs/errors.md` for the full table.
 */
export const ErrorCodes = {
  /** No tenant was given and none is in the current context. */
  TENANT_REQUIRED: 'TENANT_REQUIRED',
  /** A tenant id or slug is malformed; rejected before any SQL runs. */
  INVALID_TENANT_ID: 'INVALID_TENANT_ID',
  /** No live tenant has that id or slug. */
  TENANT_NOT_FOUND: 'TENANT_NOT_FOUND',
  /** A live tenant already uses that slug. */
  TENANT_EXISTS: 'TENANT_EXISTS',
  /** A custom domain is malformed. */
  INVALID_DOMAIN: 'INVALID_DOMAIN',
  /** The custom domain is already registered (to this or another tenant). */
  DOMAIN_EXISTS: 'DOMAIN_EXISTS',
  /** A credential of one tenant was used on another (HTTP 403). */
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  /** The tenant is suspended; resume it to route work to it again. */
  TENANT_SUSPENDED: 'TENANT_SUSPENDED',
  /** The tenant exists but is not routable yet (provisioning, migrating, failed). */
  TENANT_NOT_READY: 'TENANT_NOT_READY',
  /** The requested status change is not allowed from the tenant's current status. */
  INVALID_STATE_TRANSITION: 'INVALID_STATE_TRANSITION',
  /** An option or argument is malformed. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A tenant could not be provisioned; it is left FAILED with nothing half-made. */
  PROVISIONING_FAILED: 'PROVISIONING_FAILED',
  /** A migration file could not be read or is malformed. */
  MIGRATION_INVALID: 'MIGRATION_INVALID',
  /** An applied migration's file changed since it was applied; repair it explicitly. */
  MIGRATION_CHECKSUM_MISMATCH: 'MIGRATION_CHECKSUM_MISMATCH',
  /** A migration cannot be rolled back (it has no down part). */
  MIGRATION_IRREVERSIBLE: 'MIGRATION_IRREVERSIBLE',
  /** A migration failed to apply. */
  MIGRATION_FAILED: 'MIGRATION_FAILED',
  /** No server connection became free within the wait limit. */
  CONNECTION_BUDGET_EXHAUSTED: 'CONNECTION_BUDGET_EXHAUSTED',
  /** No server has that id. */
  SERVER_NOT_FOUND: 'SERVER_NOT_FOUND',
  /** A server with that id is already registered. */
  SERVER_EXISTS: 'SERVER_EXISTS',
  /** The server is draining: it takes no new tenants. */
  SERVER_DRAINING: 'SERVER_DRAINING',
  /** Every server is full or draining. */
  NO_SERVER_CAPACITY: 'NO_SERVER_CAPACITY',
  /** Server URLs are stored encrypted; an encryption key is needed. */
  ENCRYPTION_KEY_REQUIRED: 'ENCRYPTION_KEY_REQUIRED',
  /** A stored URL was encrypted with another key than the one configured. */
  ENCRYPTION_KEY_MISMATCH: 'ENCRYPTION_KEY_MISMATCH',
  /** A PostgreSQL server cannot be reached. */
  SERVER_UNAVAILABLE: 'SERVER_UNAVAILABLE',
  /** The unit of work already ended; its handle cannot be used any more. */
  UNIT_OF_WORK_CLOSED: 'UNIT_OF_WORK_CLOSED',
  /** A transaction's COMMIT rolled back because a statement in it had failed. */
  TRANSACTION_ABORTED: 'TRANSACTION_ABORTED',
  /** The tenancy was closed. */
  TENANCY_CLOSED: 'TENANCY_CLOSED',
  /** Something that should not happen did; the cause says what. */
  INTERNAL: 'INTERNAL',
  /**
   * The tenant is out of service because a migration failed on it (status `MIGRATION_FAILED`).
   * Its data is intact at its previous version; fix the migration and run `migrate` (or
   * `tenants.resume`) to bring it back.
   */
  TENANT_MIGRATION_FAILED: 'TENANT_MIGRATION_FAILED',
  /** An idempotency key was used again with a different request (HTTP 422). */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /** A server still has tenants placed on it (HTTP 409): it cannot be removed. */
  SERVER_IN_USE: 'SERVER_IN_USE',
  /** A tenant's catalog is not what its migrations make (HTTP 409): it cannot be archived or moved. */
  CATALOG_DRIFTED: 'CATALOG_DRIFTED',
  /** A tenant archive is malformed, truncated, or does not match what was restored from it (HTTP 422). */
  ARCHIVE_INVALID: 'ARCHIVE_INVALID',
} as const;

/** The stable error codes of Tenantry. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Context attached to an error to help whoever reads it. */
export interface ErrorContext {
  /** Tenant id or slug the error is about. */
  readonly tenant?: string;
  /** Server id the error is about. */
  readonly server?: string;
  /** Migration name the error is about. */
  readonly migration?: string;
  /** Seconds after which a retry may succeed (used for `TENANT_NOT_READY`). */
  readonly retryAfterSeconds?: number;
}

/**
 * The one error type of Tenantry.
 *
 * @example
 * ```ts
 * try {
 *   await tenancy.withTenant('acme', (db) => db.query('select 1'));
 * } catch (err) {
 *   if (err instanceof TenantryError && err.code === 'TENANT_SUSPENDED') { … }
 * }
 * ```
 */
export class TenantryError extends Error {
  override readonly name = 'TenantryError';
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = Object.freeze({ ...options.context });
  }

  /** The tenant the error is about, when known. */
  get tenant(): string | undefined {
    return this.context.tenant;
  }
}

/** True when `err` is a {@link TenantryError}, optionally with the given code. */
export function isTenantryError(err: unknown, code?: ErrorCode): err is TenantryError {
  return err instanceof TenantryError && (code === undefined || err.code === code);
}

// ── Factories ───────────────────────────────────────────────────────────────────────────────
// One place builds each common error, so its message stays the same wherever it is raised.

/** `INVALID_ARGUMENT`: an option or argument is malformed; `message` says which and what it takes. */
export function invalidArgument(message: string, options: { cause?: unknown; context?: ErrorContext } = {}): TenantryError {
  return new TenantryError(ErrorCodes.INVALID_ARGUMENT, message, options);
}

/** `MIGRATION_INVALID`: a migration (file, class or journal entry) cannot be used as it is. */
export function migrationInvalid(message: string, migration?: string, cause?: unknown): TenantryError {
  return new TenantryError(ErrorCodes.MIGRATION_INVALID, message, {
    ...(cause === undefined ? {} : { cause }),
    ...(migration === undefined ? {} : { context: { migration } }),
  });
}

/** `TENANT_NOT_FOUND` for an id or slug that no live tenant has. */
export function tenantNotFound(idOrSlug: string): TenantryError {
  return new TenantryError(ErrorCodes.TENANT_NOT_FOUND, `no tenant '${idOrSlug}'; list tenants with tenancy.tenants.list()`, {
    context: { tenant: idOrSlug },
  });
}

/**
 * `TENANT_REQUIRED`: no tenant was given and none is in the current context. `message` says
 * what to do in the caller's terms (default: the unit of work's).
 */
export function tenantRequired(
  message = 'no tenant in the current context: pass one to withTenant(tenant, fn), or run inside tenancy.run(tenant, fn)',
): TenantryError {
  return new TenantryError(ErrorCodes.TENANT_REQUIRED, message);
}

/** `TENANCY_CLOSED`: the tenancy was closed (`while` says during what, e.g. "while waiting for a connection"). */
export function tenancyClosed(while_?: string): TenantryError {
  return new TenantryError(
    ErrorCodes.TENANCY_CLOSED,
    while_ === undefined ? 'the tenancy was closed; create a new one with createTenancy()' : `the tenancy was closed ${while_}`,
  );
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

/** Passes a TenantryError through; anything else thrown while reaching `server` becomes `SERVER_UNAVAILABLE`. */
export function asServerError(server: string, err: unknown): TenantryError {
  return err instanceof TenantryError ? err : serverUnavailable(server, err);
}

/**
 * `TENANT_MIGRATION_FAILED`: `tenant` is out of service because a migration failed on it. Says
 * what failed, that its data is intact, and how to bring it back.
 */
export function tenantMigrationFailed(tenant: {
  readonly slug: string;
  readonly schemaVersion: string | null;
  readonly errorMessage: string | null;
}): TenantryError {
  return new TenantryError(
    ErrorCodes.TENANT_MIGRATION_FAILED,
    `tenant '${tenant.slug}' is out of service: a migration failed on it (${tenant.errorMessage ?? 'no detail'}). ` +
      `Its data is intact at version ${tenant.schemaVersion ?? '(none)'}. Fix or remove the migration, then run ` +
      `tenancy.migrate() (CLI: tenantry migrate --tenant ${tenant.slug}) or tenancy.tenants.resume('${tenant.slug}')`,
    { context: { tenant: tenant.slug } },
  );
}

/** `IDEMPOTENCY_KEY_REUSED`: `key` was first used for another request than this one. */
export function idempotencyKeyReused(key: string, tenant: string): TenantryError {
  return new TenantryError(
    ErrorCodes.IDEMPOTENCY_KEY_REUSED,
    `idempotency key '${key}' was already used to create tenant '${tenant}' with different input; use a new key for a new request`,
    { context: { tenant } },
  );
}
