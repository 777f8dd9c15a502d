/**
 * What the tenants API takes, checked before any SQL runs: the input types of `tenants.create()`
 * and `tenants.list()`, text and metadata validation, idempotency keys and list cursors. Every
 * check fails with `INVALID_ARGUMENT` and a message that says what is accepted.
 */
import { invalidArgument, isTenantryError } from './errors.js';
import { assertIdent } from './identifiers.js';
import type { ActorOptions, IsolationKind, Tenant, TenantStatus } from './types.js';

/** What `tenants.create()` takes. */
export interface CreateTenantInput {
  /** Unique among live tenants: 3–63 lowercase letters, digits and single hyphens. */
  readonly slug: string;
  /** Display name, 1–200 characters. */
  readonly name: string;
  readonly plan?: string | null;
  /** Free JSON object kept with the tenant (at most 64 KiB). */
  readonly metadata?: Record<string, unknown>;
  /** Its own schema or its own database; default: the tenancy's `defaultIsolation`. */
  readonly isolation?: IsolationKind;
  /** A server id; default: the least-loaded server with room that is not draining. */
  readonly server?: string;
  /**
   * The strict tier (database tenants only): the tenant gets a LOGIN role with a generated
   * password, stored encrypted with the servers' key, and its connections log in as that role —
   * the application's role is not a member of it, so no SQL run in the tenant can switch to
   * another role (docs/security.md, "Tiers"). Needs the encryption key and per-tenant roles.
   */
  readonly strict?: boolean;
  /**
   * The name of the tenant's schema or database (and of its role), e.g. `tenant_acmecorp`;
   * default: the generated `t_<id without hyphens>`. 1–63 lowercase letters, digits and
   * underscores, starting with a letter or underscore. Refused with `INVALID_ARGUMENT`: names
   * PostgreSQL or Tenantry reserve (`pg_*`, `information_schema`, `public`, `shared`,
   * `tenantry*`, `template0`/`template1`/`postgres`, the generated `t_<32 hex digits>` form).
   * Refused with `TENANT_EXISTS`: a name another tenant on the server holds (any status but
   * DELETED, a pending physical rename included) or a schema, database or role that already
   * exists on the server. Change it later with `tenants.renamePhysical()`.
   */
  readonly physicalName?: string;
}

/** A create's input once checked by `tenants.create()`: what provisioning and the registry take. */
export interface CheckedCreate {
  readonly slug: string;
  readonly name: string;
  readonly plan: string | null;
  readonly metadata: Record<string, unknown>;
  readonly isolation: IsolationKind;
  /** The server asked for, or null: the least-loaded with room. */
  readonly server: string | null;
  readonly strict?: boolean;
  readonly physicalName?: string;
}

/** Options of `tenants.create()`. */
export interface CreateTenantOptions extends ActorOptions {
  /**
   * A key the caller picks once per create request (1–255 printable ASCII characters, e.g. a
   * UUID), so that a client that timed out can retry safely: a retry with the same key and the
   * same input returns the tenant the first attempt made — waiting for that attempt, or
   * finishing or undoing it when its process stopped — instead of `TENANT_EXISTS`. The same key
   * with other input throws `IDEMPOTENCY_KEY_REUSED`. A key is held until its tenant is deleted.
   */
  readonly idempotencyKey?: string;
}

/** What `tenants.list()` takes. */
export interface ListTenantsOptions {
  readonly status?: TenantStatus;
  /** Page size, 1–1000. Default 50. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** A page of tenants. */
export interface TenantPage {
  readonly items: readonly Tenant[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

export function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw invalidArgument(`${field} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > max) throw invalidArgument(`${field} must be 1–${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw invalidArgument(`${field} must not contain control characters`);
  return trimmed;
}

/** Physical names nobody may choose: PostgreSQL's, the server's usual databases, Tenantry's own. */
const RESERVED_PHYSICAL_NAMES = new Set(['public', 'information_schema', 'shared', 'postgres', 'template0', 'template1']);
/** The form of generated physical names, kept for them so a chosen name never meets a generated one. */
const GENERATED_PHYSICAL_NAME = /^t_[0-9a-f]{32}$/;

/**
 * Validates a caller-chosen physical name (schema, database and role name) by the rules of the
 * generated ones ({@link assertIdent}) and refuses reserved names. Throws `INVALID_ARGUMENT`;
 * never touches SQL. Whether the name is free on its server is checked later, against the
 * registry and the server's catalogs.
 */
export function checkPhysicalName(value: unknown, field = 'physicalName'): string {
  const rules = `${field} must be 1–63 lowercase letters, digits and underscores, starting with a letter or underscore (e.g. 'tenant_acmecorp')`;
  if (typeof value !== 'string') throw invalidArgument(rules);
  try {
    assertIdent(value);
  } catch (err) {
    if (isTenantryError(err)) throw invalidArgument(rules, { cause: err });
    throw err;
  }
  if (value.startsWith('pg_') || value.startsWith('tenantry') || RESERVED_PHYSICAL_NAMES.has(value))
    throw invalidArgument(
      `${field} '${value}' is reserved (pg_*, tenantry*, ${[...RESERVED_PHYSICAL_NAMES].join(', ')}); pick another name`,
    );
  if (GENERATED_PHYSICAL_NAME.test(value))
    throw invalidArgument(`${field} '${value}' has the form of generated names (t_ and 32 hex digits); leave physicalName out to get one`);
  return value;
}

export function checkMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    throw invalidArgument('metadata must be a plain JSON object');
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw invalidArgument('metadata must be JSON-serialisable', { cause: err });
  }
  if (Buffer.byteLength(json) > 65_536) throw invalidArgument('metadata must be at most 64 KiB as JSON');
  return JSON.parse(json) as Record<string, unknown>;
}

export function checkIdempotencyKey(value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(value) || value.trim() !== value)
    throw invalidArgument('idempotencyKey must be 1–255 printable ASCII characters, e.g. a UUID');
  return value;
}

/** JSON with object keys sorted, so that equal requests hash alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export function encodeCursor(seq: string): string {
  return Buffer.from(`t1:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: unknown): string {
  if (typeof cursor !== 'string' || cursor.length > 64) throw invalidArgument('cursor is not a cursor returned by tenants.list()');
  const raw = Buffer.from(cursor, 'base64url').toString();
  const m = /^t1:(\d{1,18})$/.exec(raw);
  if (!m) throw invalidArgument('cursor is not a cursor returned by tenants.list()');
  return m[1]!;
}
