import { ErrorCodes, TenantryError } from './errors.js';

/** A tenant slug: lowercase letters, digits and inner hyphens, 3–63 characters, starting with a letter. */
export const SLUG_PATTERN = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What Tenantry itself generates for physical names: never user text. */
const IDENT_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const RESERVED_PREFIXES = ['pg_', 'pg-'];

/** A validated reference to a tenant: by its immutable id or by its slug. */
export type TenantRef = { readonly kind: 'id'; readonly value: string } | { readonly kind: 'slug'; readonly value: string };

function describe(input: unknown): string {
  if (typeof input !== 'string') return `a ${input === null ? 'null' : typeof input}`;
  const shown = input.length > 40 ? `${input.slice(0, 40)}…` : input;
  return JSON.stringify(shown);
}

/**
 * Validates a slug and returns it. Throws `INVALID_TENANT_ID` otherwise; never touches SQL.
 *
 * @example
 * ```ts
 * assertSlug('acme-corp') // 'acme-corp'
 * ```
 */
export function assertSlug(input: unknown): string {
  if (
    typeof input !== 'string' ||
    !SLUG_PATTERN.test(input) ||
    input.includes('--') ||
    RESERVED_PREFIXES.some((p) => input.startsWith(p))
  ) {
    throw new TenantryError(
      ErrorCodes.INVALID_TENANT_ID,
      `invalid tenant slug ${describe(input)}: use 3–63 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen (e.g. 'acme-corp')`,
    );
  }
  return input;
}

/** True when `input` is a canonical lowercase UUID. */
export function isUuid(input: unknown): input is string {
  return typeof input === 'string' && UUID_PATTERN.test(input);
}

/**
 * Parses a tenant id (uuid) or slug. Throws `INVALID_TENANT_ID` for anything else, before any
 * SQL runs. Uppercase UUIDs are accepted and normalised.
 */
export function parseTenantRef(input: unknown): TenantRef {
  if (typeof input === 'string' && input.length === 36) {
    const lower = input.toLowerCase();
    if (UUID_PATTERN.test(lower)) return { kind: 'id', value: lower };
  }
  if (typeof input === 'string' && SLUG_PATTERN.test(input)) return { kind: 'slug', value: assertSlug(input) };
  throw new TenantryError(
    ErrorCodes.INVALID_TENANT_ID,
    `invalid tenant id or slug ${describe(input)}: give the tenant's uuid or its slug (lowercase letters, digits, hyphens)`,
  );
}

/**
 * Validates a PostgreSQL identifier that Tenantry generated (schema, database, role names).
 * Only `[a-z_][a-z0-9_]*`, at most 63 bytes, and no `pg_` prefix.
 */
export function assertIdent(input: unknown): string {
  if (typeof input !== 'string' || !IDENT_PATTERN.test(input) || input.startsWith('pg_')) {
    throw new TenantryError(ErrorCodes.INVALID_TENANT_ID, `invalid identifier ${describe(input)}`);
  }
  return input;
}

/**
 * Quotes an identifier for SQL, after validating it with {@link assertIdent}. The only way
 * Tenantry puts a name into SQL text.
 *
 * @example
 * ```ts
 * quoteIdent('t_0f3a…') // '"t_0f3a…"'
 * ```
 */
export function quoteIdent(input: string): string {
  return `"${assertIdent(input).replace(/"/g, '""')}"`;
}

/**
 * Quotes a string literal that Tenantry generated (registry markers), for the few statements
 * that take no bind parameters (COMMENT ON). Refuses anything but `[A-Za-z0-9:_-]`: never
 * user text.
 */
export function quoteLiteral(input: string): string {
  if (!/^[A-Za-z0-9:_-]{1,200}$/.test(input))
    throw new TenantryError(ErrorCodes.INTERNAL, `refusing to quote ${describe(input)} as a literal`);
  return `'${input}'`;
}

/** The physical schema (or database) name of a tenant: derived from the immutable id only. */
export function physicalNameFor(tenantId: string): string {
  if (!isUuid(tenantId)) throw new TenantryError(ErrorCodes.INVALID_TENANT_ID, `invalid tenant id ${describe(tenantId)}`);
  return assertIdent(`t_${tenantId.replace(/-/g, '')}`);
}

const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Validates and normalises a custom domain (a host name, no port, no scheme): lowercased, a
 * trailing dot removed, ASCII only (use punycode for international names). Throws
 * `INVALID_DOMAIN`.
 *
 * @example
 * ```ts
 * assertDomain('App.Acme.COM.') // 'app.acme.com'
 * ```
 */
export function assertDomain(input: unknown): string {
  const fail = (): never => {
    throw new TenantryError(
      ErrorCodes.INVALID_DOMAIN,
      `invalid domain ${describe(input)}: give a host name such as 'app.acme.com' (no scheme, port or path; punycode for non-ASCII names)`,
    );
  };
  if (typeof input !== 'string' || input.length > 254) return fail();
  const host = input.toLowerCase().replace(/\.$/, '');
  const labels = host.split('.');
  if (host.length === 0 || host.length > 253 || labels.length < 2 || !labels.every((l) => DOMAIN_LABEL.test(l))) return fail();
  return host;
}
