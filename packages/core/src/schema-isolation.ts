import type pg from 'pg';
import { quoteIdent } from './identifiers.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import type { Migration } from './migrations/migration-source.js';
import { applyMigrations, type AppliedMigration } from './migrations/tenant-ledger.js';
import type { RoutePrefix } from './tenant-query.js';
import type { Tenant } from './types.js';

/**
 * Schema-per-tenant: each tenant owns schema `t_<id without hyphens>` on its server. Work is
 * routed by a transaction-local `search_path` of exactly that schema (then `pg_temp`, so a
 * temporary table can never shadow a tenant table). `public` is never on the path.
 */
export class SchemaIsolation implements IsolationStrategy {
  readonly kind = 'schema' as const;
  readonly #prefixes = new Map<string, { rw: RoutePrefix; ro: RoutePrefix }>();

  async provision(client: pg.ClientBase, tenant: Tenant, migrations: readonly Migration[]): Promise<AppliedMigration[]> {
    const schema = quoteIdent(tenant.physicalName);
    await client.query(`create schema ${schema}`);
    await this.enter(client, tenant);
    return await applyMigrations(client, migrations);
  }

  async enter(client: pg.ClientBase, tenant: Tenant): Promise<void> {
    await client.query(`set local search_path to ${quoteIdent(tenant.physicalName)}, pg_temp`);
  }

  async drop(client: pg.ClientBase, tenant: Tenant): Promise<void> {
    await client.query(`drop schema if exists ${quoteIdent(tenant.physicalName)} cascade`);
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
}
