import type pg from 'pg';
import type { ConnectionRouter, ConnectTarget } from './connection-router.js';
import { quoteIdent, quoteLiteral } from './identifiers.js';
import { notOurs, PHYSICAL_NAME, type IsolationStrategy, type ProvisionRequest, type TenantCheck } from './isolation-strategy.js';
import type { Migration } from './migrations/migration-source.js';
import { LEDGER_DDL, LEDGER_TABLE, readLedgerIn, runMigration, type AppliedMigration } from './migrations/tenant-ledger.js';
import { runBatch, withLeadingStatements, type BatchStatement } from './statement-batch.js';
import {
  createTenantRole,
  dropTenantRole,
  tenantRoleStatements,
  inDatabaseOf,
  missingPrivileges,
  missingSteps,
  type ContainerFacts,
} from './tenant-roles.js';
import type { SharedTables } from './shared-tables.js';
import { RoutePrefixes, type RoutePrefix } from './tenant-query.js';
import { inOpenedTransaction, inTransaction } from './transaction.js';
import type { Tenant } from './types.js';

/**
 * Schema-per-tenant: each tenant owns schema `t_<id without hyphens>` (or the name it was
 * created with or renamed to) in its server's own
 * database. Work is routed by a transaction-local `search_path` of exactly that schema (then
 * `pg_temp`, so a temporary table can never shadow a tenant table). `public` is never on the path;
 * with shared migrations, the shared schema comes after the tenant's (`"t_x", shared, pg_temp`).
 */
export class SchemaIsolation implements IsolationStrategy {
  readonly kind = 'schema' as const;
  readonly #router: ConnectionRouter;
  readonly #prefixes = new RoutePrefixes((tenant) => this.#searchPath(tenant));

  readonly #marker: string;
  readonly #registryServer: string;
  readonly #shared: SharedTables | undefined;
  /** `, "shared"` when there are shared tables, else empty. */
  readonly #sharedPath: string;

  /**
   * @param marker - the COMMENT that marks this registry's schemas.
   * @param registryServer - the server whose database holds the registry.
   * @param shared - the shared tables, applied to the server's database before its first tenant.
   */
  constructor(router: ConnectionRouter, marker: string, registryServer: string, shared?: SharedTables) {
    this.#router = router;
    this.#marker = marker;
    this.#registryServer = registryServer;
    this.#shared = shared;
    this.#sharedPath = shared === undefined ? '' : `, ${quoteIdent(shared.schema)}`;
  }

  #searchPath(tenant: Tenant): string {
    return `${quoteIdent(tenant.physicalName)}${this.#sharedPath}, pg_temp`;
  }

  inRegistryDatabase(tenant: Tenant): boolean {
    return tenant.server === this.#registryServer;
  }

  /**
   * One transaction on the tenant's server: the schema, its migrations and seeds. On the
   * registry's server it also records the tenant ACTIVE (and, with `request.register`, registers
   * it first: the whole create is this one transaction); elsewhere the schema is committed
   * first and recorded after, and dropped again when recording fails.
   *
   * Round trips: `BEGIN`, the registration (with `register`), the lifecycle lock (on the
   * registry's server) and every statement before the migrations in one batch; each migration
   * and seed (scripts: simple queries); then the ledger rows, `RESET ROLE` and — on the
   * registry's server — the registry's recording in one batch, which with `register` carries
   * the `COMMIT` too; else `COMMIT`.
   */
  async provision(request: ProvisionRequest): Promise<Tenant> {
    const { tenant, register } = request;
    const inRegistry = this.inRegistryDatabase(tenant);
    if (register !== undefined && !inRegistry)
      throw new Error('only a schema in the registry database is created in the transaction that registers it');
    const client = await this.#router.connect({ server: tenant.server });
    const outcome = await inOpenedTransaction(
      client,
      async (): Promise<{ tenant: Tenant } | { applied: AppliedMigration[] }> => {
        const lock =
          request.lockInTransaction === undefined
            ? []
            : [{ text: 'select pg_advisory_xact_lock(hashtextextended($1, 0))', values: [request.lockInTransaction] }];
        const opening = [{ text: 'begin' }, ...(register === undefined ? [] : [register.statement]), ...lock];
        const ddl = this.#createStatements(tenant).map((text) => ({ text }));
        // The server's shared tables before the schema: the tenant's migrations may refer to them.
        const opened = await runBatch(client, this.#shared === undefined ? [...opening, ...ddl] : opening);
        if (register !== undefined) await register.registered(opened[1]!);
        if (this.#shared !== undefined) {
          await this.#shared.applyIn(client, await this.#shared.pinned());
          await runBatch(client, ddl);
        }
        const applied = await runMigrations(client, request.migrations);
        for (const seed of request.seeds) await client.query(seed.up);
        if (register !== undefined) await request.created();
        // The ledger rows, back to the application's role, and (here) the registry's recording —
        // with `register`, and the COMMIT: one round trip. The ledger and its mirror get the same applied_at.
        const batched = withLeadingStatements(
          client,
          [ledgerInsert(applied), { text: 'reset role' }],
          register === undefined ? [] : [{ text: 'commit' }],
        );
        if (inRegistry) {
          const recorded = await request.record(applied, batched);
          // A no-op when the recording carried them (and the COMMIT), as it does.
          await batched.flush();
          return { tenant: recorded };
        }
        await batched.flush();
        return { applied };
      },
      { fnCommits: register !== undefined },
    );
    if ('tenant' in outcome) return outcome.tenant;
    await request.created();
    try {
      return await request.record(outcome.applied);
    } catch (err) {
      await this.drop(tenant).catch(() => undefined);
      throw err;
    }
  }

  target(tenant: Tenant, readOnly: boolean): ConnectTarget {
    return { server: tenant.server, replica: readOnly, affinity: tenant.id };
  }

  /**
   * The statements that create the schema (owned by the tenant's role, which is created too)
   * and its ledger, and leave the transaction in the tenant (its search_path and role) for its
   * migrations: names through quoteIdent, the marker through quoteLiteral; nothing from a caller.
   */
  #createStatements(tenant: Tenant): string[] {
    const schema = quoteIdent(tenant.physicalName);
    const statements =
      tenant.role === null
        ? [`create schema ${schema}`]
        : [...tenantRoleStatements(tenant.role), `create schema ${schema} authorization ${quoteIdent(tenant.role)}`];
    statements.push(
      `revoke all on schema ${schema} from public`,
      `comment on schema ${schema} is ${quoteLiteral(this.#marker)}`,
      ...this.#enterStatements(tenant),
      LEDGER_DDL,
    );
    return statements;
  }

  #enterStatements(tenant: Tenant): string[] {
    const path = `set local search_path to ${this.#searchPath(tenant)}`;
    return tenant.role === null ? [path] : [path, `set local role ${quoteIdent(tenant.role)}`];
  }

  /** search_path to the tenant's schema, and its role, for the rest of the transaction. */
  async enter(client: pg.ClientBase, tenant: Tenant): Promise<void> {
    await client.query(this.#enterStatements(tenant).join(';\n'));
  }

  async grantAccess(): Promise<void> {
    // Migrations run as the tenant's role: it owns what they create.
  }

  async adopt(tenant: Tenant, role: string): Promise<void> {
    const admin = await this.#router.admin(tenant.server);
    await inTransaction(
      () => admin.connect(),
      async (client) => {
        await createTenantRole(client, role);
        const schema = quoteIdent(tenant.physicalName);
        await client.query(`alter schema ${schema} owner to ${quoteIdent(role)}`);
        await client.query(`comment on schema ${schema} is ${quoteLiteral(this.#marker)}`);
        await client.query(`revoke all on schema ${schema} from public`);
        // Tables (with their indexes and owned sequences), views, other sequences, functions, types.
        const { rows } = await client.query<{ sql: string }>(
          `select format('alter %s %I.%I owner to %I', case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end, n.nspname, c.relname, $2::text) as sql
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
            and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')))
         union all
         select format('alter routine %s owner to %I', p.oid::regprocedure, $2::text) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1
         union all
         select format('alter type %s owner to %I', t.oid::regtype, $2::text) from pg_type t join pg_namespace n on n.oid = t.typnamespace
          where n.nspname = $1 and t.typtype in ('e', 'd', 'c', 'r') and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')`,
          [tenant.physicalName, role],
        );
        for (const row of rows) await client.query(row.sql);
      },
    );
  }

  routePrefix(tenant: Tenant, readOnly: boolean): RoutePrefix {
    return this.#prefixes.get(tenant, readOnly);
  }

  async verify(tenant: Tenant, target: string): Promise<TenantCheck> {
    const admin = await this.#router.admin(tenant.server);
    return await inTransaction(
      () => admin.connect(),
      async (client) => {
        const { rows } = await client.query<ContainerFacts>(
          `select n.oid is not null as container,
                  coalesce(obj_description(n.oid, 'pg_namespace') = $2, false) as marked,
                  coalesce(not has_schema_privilege('public', n.oid, 'USAGE'), false) as closed,
                  ($3::text is null or r.oid is not null) as role,
                  ($3::text is null or coalesce(n.nspowner = r.oid, false)) as owned,
                  ($3::text is null or coalesce(pg_has_role(current_user, r.oid, 'MEMBER'), false)) as member
             from (select 1) as one
             left join pg_namespace n on n.nspname = $1
             left join pg_roles r on r.rolname = $3`,
          [tenant.physicalName, this.#marker, tenant.role],
        );
        const missing = missingSteps(rows[0]!, 'schema');
        if (!rows[0]!.container) return { missing, ledger: [] };
        const ledger = await readLedgerIn(client, tenant.physicalName);
        if (ledger === undefined) missing.push('migration ledger');
        else if (target !== '' && !ledger.some((l) => l.name === target)) missing.push(`migration ${target}`);
        if (tenant.role !== null && rows[0]!.role)
          for (const name of await missingPrivileges(client, tenant.physicalName, tenant.role)) missing.push(`privileges on ${name}`);
        return { missing, ledger: ledger ?? [] };
      },
    );
  }

  async exists(client: pg.ClientBase, tenant: Tenant): Promise<boolean> {
    const { rowCount } = await client.query('select 1 from pg_namespace where nspname = $1', [tenant.physicalName]);
    return rowCount === 1;
  }

  async drop(tenant: Tenant): Promise<void> {
    const admin = await this.#router.admin(tenant.server);
    // A chosen name may meet a schema that is not this registry's: that one is never dropped.
    if (!new RegExp(PHYSICAL_NAME).test(tenant.physicalName)) {
      const { rows } = await admin.query<{ marker: string | null }>(
        "select obj_description(oid, 'pg_namespace') as marker from pg_namespace where nspname = $1",
        [tenant.physicalName],
      );
      if (rows[0] !== undefined && rows[0].marker !== null && rows[0].marker !== this.#marker) throw notOurs('schema', tenant);
    }
    await admin.query(`drop schema if exists ${quoteIdent(tenant.physicalName)} cascade`);
    if (tenant.role !== null) await dropTenantRole(admin, tenant.role, inDatabaseOf(this.#router, tenant.server));
  }

  async containers(client: pg.ClientBase): Promise<{ name: string; marker: string | null }[]> {
    const { rows } = await client.query<{ name: string; marker: string | null }>(
      `select nspname as name, obj_description(oid, 'pg_namespace') as marker from pg_namespace
        where nspname ~ $1 or obj_description(oid, 'pg_namespace') = $2 order by 1`,
      [PHYSICAL_NAME, this.#marker],
    );
    return rows;
  }

  async existing(server: string, names: readonly string[]): Promise<Set<string>> {
    const admin = await this.#router.admin(server);
    const { rows } = await admin.query<{ name: string }>('select nspname as name from pg_namespace where nspname = any($1::text[])', [
      names,
    ]);
    return new Set(rows.map((r) => r.name));
  }

  /**
   * `ALTER SCHEMA … RENAME` (and `ALTER ROLE … RENAME`) in one transaction. Units of work of the
   * tenant that are open meanwhile name the old schema in their search_path: their next
   * statements fail (suspend the tenant first to refuse new work cleanly).
   */
  async rename(tenant: Tenant, to: string, options: { readonly renameRole: boolean }): Promise<void> {
    const admin = await this.#router.admin(tenant.server);
    await inTransaction(
      () => admin.connect(),
      async (client) => {
        await client.query(`alter schema ${quoteIdent(tenant.physicalName)} rename to ${quoteIdent(to)}`);
        if (options.renameRole && tenant.role !== null)
          await client.query(`alter role ${quoteIdent(tenant.role)} rename to ${quoteIdent(to)}`);
      },
    );
  }
}

/**
 * Applies `migrations` in order on `client` (inside the provisioning transaction, in the tenant),
 * each a simple query of its own, and returns their ledger rows to insert with
 * {@link ledgerInsert}. A failure is `MIGRATION_FAILED` naming the migration.
 */
async function runMigrations(client: pg.ClientBase, migrations: readonly Migration[]): Promise<AppliedMigration[]> {
  const applied: AppliedMigration[] = [];
  for (const m of migrations) {
    const durationMs = await runMigration(client, m);
    applied.push({ name: m.name, checksum: m.checksum, appliedAt: new Date(), durationMs });
  }
  return applied;
}

/** One statement that writes `applied` into the tenant's ledger (the tenant first on the search_path). */
function ledgerInsert(applied: readonly AppliedMigration[]): BatchStatement {
  return {
    text: `insert into ${LEDGER_TABLE} (name, checksum, applied_at, duration_ms)
           select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])`,
    values: [applied.map((a) => a.name), applied.map((a) => a.checksum), applied.map((a) => a.appliedAt), applied.map((a) => a.durationMs)],
  };
}
