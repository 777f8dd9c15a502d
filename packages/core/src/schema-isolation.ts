import type pg from 'pg';
import type { ConnectionRouter, ConnectTarget } from './connection-router.js';
import { quoteIdent } from './identifiers.js';
import { PHYSICAL_NAME, type IsolationStrategy } from './isolation-strategy.js';
import type { Migration } from './migrations/migration-source.js';
import { applyMigrations, type AppliedMigration } from './migrations/tenant-ledger.js';
import type { RoutePrefix } from './tenant-query.js';
import type { Tenant } from './types.js';

/**
 * Schema-per-tenant: each tenant owns schema `t_<id without hyphens>` in its server's own
 * database. Work is routed by a transaction-local `search_path` of exactly that schema (then
 * `pg_temp`, so a temporary table can never shadow a tenant table). `public` is never on the path.
 */
export class SchemaIsolation implements IsolationStrategy {
  readonly kind = 'schema' as const;
  readonly #router: ConnectionRouter;
  readonly #prefixes = new Map<string, { rw: RoutePrefix; ro: RoutePrefix }>();

  constructor(router: ConnectionRouter) {
    this.#router = router;
  }

  target(tenant: Tenant, readOnly: boolean): ConnectTarget {
    return { server: tenant.server, replica: readOnly };
  }

  /** Creates the schema and applies every migration, on `client` inside the caller's transaction. */
  async provision(client: pg.ClientBase, tenant: Tenant, migrations: readonly Migration[]): Promise<AppliedMigration[]> {
    await client.query(`create schema ${quoteIdent(tenant.physicalName)}`);
    await this.enter(client, tenant);
    return await applyMigrations(client, migrations);
  }

  async enter(client: pg.ClientBase, tenant: Tenant): Promise<void> {
    await client.query(`set local search_path to ${quoteIdent(tenant.physicalName)}, pg_temp`);
  }

  routePrefix(tenant: Tenant, readOnly: boolean): RoutePrefix {
    let entry = this.#prefixes.get(tenant.physicalName);
    if (entry === undefined) {
      const searchPath = `${quoteIdent(tenant.physicalName)}, pg_temp`;
      entry = { rw: Object.freeze({ searchPath, readOnly: false }), ro: Object.freeze({ searchPath, readOnly: true }) };
      if (this.#prefixes.size >= 50_000) this.#prefixes.clear();
      this.#prefixes.set(tenant.physicalName, entry);
    }
    return readOnly ? entry.ro : entry.rw;
  }

  async exists(client: pg.ClientBase, tenant: Tenant): Promise<boolean> {
    const { rowCount } = await client.query('select 1 from pg_namespace where nspname = $1', [tenant.physicalName]);
    return rowCount === 1;
  }

  async drop(tenant: Tenant): Promise<void> {
    const admin = await this.#router.admin(tenant.server);
    await admin.query(`drop schema if exists ${quoteIdent(tenant.physicalName)} cascade`);
  }

  async containers(client: pg.ClientBase): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>('select nspname as name from pg_namespace where nspname ~ $1 order by 1', [PHYSICAL_NAME]);
    return rows.map((r) => r.name);
  }
}
