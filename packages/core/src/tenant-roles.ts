import type { Queryable } from './registry/tenant-registry.js';
import { quoteIdent } from './identifiers.js';

/**
 * Per-tenant roles: every tenant gets a NOLOGIN role (named like its schema or database) that
 * owns its container. The application's login role is granted membership, and each unit of
 * work switches to the tenant's role for every statement (`set_config('role', …, true)`), so
 * SQL naming another tenant's tables fails with a permission error.
 */
export async function createTenantRole(client: { query(text: string): Promise<unknown> }, role: string): Promise<void> {
  const r = quoteIdent(role);
  await client.query(`create role ${r} nologin noinherit`);
  await client.query(`grant ${r} to current_user`);
}

/**
 * Drops a tenant's role (after its schema or database is gone). Idempotent. First drops what
 * the role still owns and revokes what others granted it in this database (large objects,
 * privileges another tenant gave it), which would otherwise block `DROP ROLE`.
 */
export async function dropTenantRole(
  client: { query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }> },
  role: string,
): Promise<void> {
  const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [role]);
  if (rowCount === 0) return;
  await client.query(`drop owned by ${quoteIdent(role)}`);
  await client.query(`drop role if exists ${quoteIdent(role)}`);
}

/** True when the connected user may create roles (superuser or CREATEROLE). */
export async function canCreateRoles(client: Queryable): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('select rolsuper or rolcreaterole as ok from pg_roles where rolname = current_user');
  return rows[0]?.ok === true;
}
