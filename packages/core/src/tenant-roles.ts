import type { ConnectionRouter } from './connection-router.js';
import type { Queryable } from './registry/tenant-registry.js';
import { quoteIdent } from './identifiers.js';

/**
 * Per-tenant roles: every tenant gets a NOLOGIN role (named like its schema or database) that
 * owns its container. The application's login role is granted membership, and each unit of
 * work switches to the tenant's role for every statement (`set_config('role', …, true)`), so
 * SQL naming another tenant's tables fails with a permission error.
 */
export async function createTenantRole(client: { query(text: string): Promise<unknown> }, role: string): Promise<void> {
  // One round trip (names through quoteIdent only); outside a transaction both statements still
  // commit or fail together, as one implicit transaction.
  await client.query(tenantRoleStatements(role).join(';\n'));
}

/** The statements of {@link createTenantRole}, to send in one batch with others. */
export function tenantRoleStatements(role: string): string[] {
  const r = quoteIdent(role);
  return [`create role ${r} nologin noinherit`, `grant ${r} to current_user`];
}

/** Runs `fn` on a connection to another database of the same server (for {@link dropTenantRole}). */
export type InDatabase = (database: string, fn: (client: RoleClient) => Promise<void>) => Promise<void>;

/** {@link InDatabase} through the router's pools of `server`. */
export function inDatabaseOf(router: ConnectionRouter, server: string): InDatabase {
  return async (database, fn) => {
    const client = await router.connect({ server, database });
    let failed: Error | undefined;
    try {
      await fn(client);
    } catch (err) {
      if (!(err instanceof Error && typeof (err as { severity?: unknown }).severity === 'string')) failed = err as Error;
      throw err;
    } finally {
      router.release(client, failed);
    }
  };
}

type RoleClient = { query(text: string, values?: unknown[]): Promise<{ rowCount: number | null; rows: unknown[] }> };

/**
 * A strict tenant's role: it LOGINs with `password`, and the application's role is NOT made a
 * member (PostgreSQL gives the creating role only ADMIN OPTION — no SET, no INHERIT — with the
 * default `createrole_self_grant`), so SQL in the tenant's sessions cannot become any other role.
 */
export async function createLoginRole(
  client: { query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> },
  role: string,
  password: string,
): Promise<void> {
  // Utility statements take no parameters: the server quotes the password (never spliced here).
  const { rows } = await client.query(`select format('create role %I login noinherit password %L', $1::text, $2::text) as sql`, [
    quoteIdent(role).slice(1, -1),
    password,
  ]);
  await client.query((rows[0] as { sql: string }).sql);
}

/**
 * Drops a tenant's role (after its schema or database is gone). Idempotent. First drops what
 * the role still owns and revokes what others granted it — in this database and, through
 * `inDatabase`, in every other database where the server records a dependency on the role
 * (another tenant's database that granted it a privilege or a large object) — which would
 * otherwise block `DROP ROLE` (2BP01) and leave the tenant DELETING.
 */
export async function dropTenantRole(client: RoleClient, role: string, inDatabase?: InDatabase): Promise<void> {
  const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [role]);
  if (rowCount === 0) return;
  // A strict tenant's role: the application holds only ADMIN OPTION on it, and DROP OWNED needs
  // its privileges — take them now that the tenant is going.
  const { rows: inherits } = await client.query("select pg_has_role(current_user, $1::text, 'USAGE') as ok", [role]);
  if ((inherits[0] as { ok?: boolean } | undefined)?.ok !== true)
    await client.query(`grant ${quoteIdent(role)} to current_user with inherit true`);
  await client.query(`drop owned by ${quoteIdent(role)}`);
  if (inDatabase !== undefined) {
    const { rows } = await client.query(
      `select distinct d.datname from pg_shdepend s join pg_database d on d.oid = s.dbid
        where s.refclassid = 'pg_authid'::regclass and s.refobjid = (select oid from pg_roles where rolname = $1)
          and d.datname <> current_database() and d.datallowconn`,
      [role],
    );
    for (const { datname } of rows as { datname: string }[]) {
      await inDatabase(datname, (other) => other.query(`drop owned by ${quoteIdent(role)}`).then(() => undefined));
    }
  }
  await client.query(`drop role if exists ${quoteIdent(role)}`);
}

/** What the connected (login) role may do. */
export interface LoginRoleFacts {
  readonly name: string;
  readonly superuser: boolean;
  /** Superuser or CREATEROLE. */
  readonly createRole: boolean;
  readonly createDb: boolean;
}

/** The connected user's attributes. */
export async function loginRole(client: Queryable): Promise<LoginRoleFacts> {
  const { rows } = await client.query<{ name: string; superuser: boolean; create_role: boolean; create_db: boolean }>(
    `select rolname as name, rolsuper as superuser, rolsuper or rolcreaterole as create_role, rolsuper or rolcreatedb as create_db
       from pg_roles where rolname = current_user`,
  );
  const r = rows[0];
  return { name: r?.name ?? '', superuser: r?.superuser === true, createRole: r?.create_role === true, createDb: r?.create_db === true };
}

/** True when the connected user may create roles (superuser or CREATEROLE). */
export async function canCreateRoles(client: Queryable): Promise<boolean> {
  return (await loginRole(client)).createRole;
}

/**
 * The tables and sequences of `schema` that `role` cannot fully use (read, insert, update,
 * delete; use a sequence), and the schema itself when the role may not use it. Empty when the
 * role can work with everything there.
 */
export async function missingPrivileges(client: Queryable, schema: string, role: string): Promise<string[]> {
  // has_table_privilege with several privileges is true when any is held: one call each.
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1
        and ((c.relkind in ('r', 'p') and not (has_table_privilege($2, c.oid, 'SELECT') and has_table_privilege($2, c.oid, 'INSERT')
                                              and has_table_privilege($2, c.oid, 'UPDATE') and has_table_privilege($2, c.oid, 'DELETE')))
          or (c.relkind = 'S' and not has_sequence_privilege($2, c.oid, 'USAGE')))
     union all
     select $1 from pg_namespace n where n.nspname = $1 and not has_schema_privilege($2, n.oid, 'USAGE')
     order by 1`,
    [schema, role],
  );
  return rows.map((r) => r.name);
}

/** What the checks of a tenant's container and role found (see `IsolationStrategy.verify`). */
export interface ContainerFacts {
  readonly container: boolean;
  readonly marked: boolean;
  readonly role: boolean;
  readonly owned: boolean;
  readonly member: boolean;
  readonly closed: boolean;
}

/** The missing steps `facts` reveal, in words. */
export function missingSteps(facts: ContainerFacts, kind: string): string[] {
  const missing: string[] = [];
  if (!facts.container) return [kind];
  if (!facts.marked) missing.push(`${kind} marker`);
  if (!facts.closed) missing.push(`${kind} closed to PUBLIC`);
  if (!facts.role) missing.push('role');
  else {
    if (!facts.member) missing.push('membership in the role');
    if (!facts.owned) missing.push(`${kind} owned by the role`);
  }
  return missing;
}
