import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ConnectionRouter, ConnectTarget } from './connection-router.js';
import type { PoolLogin } from './server-pool.js';
import { ErrorCodes, TenantryError } from './errors.js';
import { assertIdent, quoteIdent, quoteLiteral } from './identifiers.js';
import { notOurs, PHYSICAL_NAME, type IsolationStrategy, type ProvisionRequest, type TenantCheck } from './isolation-strategy.js';
import type { LifecycleStep } from './internals.js';
import type { Logger } from './logger.js';
import type { Migration } from './migrations/migration-source.js';
import { applyMigrations, LEDGER_TABLE, readLedgerIn, type AppliedMigration } from './migrations/tenant-ledger.js';
import { sqlState } from './pg-errors.js';
import { runBatch, type BatchError, type BatchStatement } from './statement-batch.js';
import {
  createLoginRole,
  createTenantRole,
  dropTenantRole,
  inDatabaseOf,
  missingPrivileges,
  missingSteps,
  type ContainerFacts,
} from './tenant-roles.js';
import type { SharedTables } from './shared-tables.js';
import { RoutePrefixes, type RoutePrefix } from './tenant-query.js';
import { inTransaction } from './transaction.js';
import type { Tenant } from './types.js';

const TEMPLATE_PREFIX = 'tenantry_tpl_';

/** The template database name for a migration set (and shared set): it changes whenever either does. */
export function templateName(migrations: readonly Migration[], shared: readonly Migration[] = []): string {
  const hash = createHash('sha256');
  for (const m of migrations) hash.update(`${m.name}\0${m.checksum}\0`);
  // Without shared migrations the name is what it always was.
  for (const m of shared) hash.update(`shared\0${m.name}\0${m.checksum}\0`);
  return assertIdent(`${TEMPLATE_PREFIX}${hash.digest('hex').slice(0, 16)}`);
}

/**
 * Database-per-tenant: each tenant owns database `t_<id without hyphens>` (or the name it was
 * created with or renamed to) on its server,
 * cloned from a template database kept at the latest migration version
 * (`CREATE DATABASE … TEMPLATE`, ≈ 35 ms) and falling back to create + migrate. Its tables
 * live in the database's `public` schema (then the shared schema, with shared migrations).
 * Connections come from small per-database pools under the server's one budget.
 */
export class DatabaseIsolation implements IsolationStrategy {
  readonly kind = 'database' as const;
  readonly #router: ConnectionRouter;
  readonly #logger: Logger;
  /** Every tenant database's tables are in its `public` schema; shared tables after them. */
  readonly #searchPath: string;
  readonly #prefixes = new RoutePrefixes(() => this.#searchPath);
  readonly #shared: SharedTables | undefined;

  readonly #marker: string;
  /** Templates known to be ready (`server/name`); forgotten when a clone from one fails. */
  readonly #ready = new Set<string>();
  /** Template builds under way in this process (`server/name`). */
  readonly #building = new Map<string, Promise<string>>();

  /** A strict tenant's login password, decrypted (fetched when a connection is opened). */
  readonly #loginPassword: (tenant: Tenant) => Promise<string>;
  /** Strict tenants' pool logins, one per tenant (the password is asked for per connect). */
  readonly #logins = new Map<string, PoolLogin>();

  /**
   * @param marker - the COMMENT that marks this registry's databases.
   * @param shared - the shared tables, applied in every tenant database (and its template).
   * @param loginPassword - a strict tenant's login password (from the registry, decrypted).
   */
  constructor(
    router: ConnectionRouter,
    logger: Logger,
    marker: string,
    shared: SharedTables | undefined,
    loginPassword: (tenant: Tenant) => Promise<string>,
  ) {
    this.#shared = shared;
    this.#searchPath = shared === undefined ? 'public, pg_temp' : `public, ${quoteIdent(shared.schema)}, pg_temp`;
    this.#router = router;
    this.#logger = logger;
    this.#marker = marker;
    this.#loginPassword = loginPassword;
  }

  target(tenant: Tenant, readOnly: boolean): ConnectTarget {
    const target = { server: tenant.server, database: tenant.physicalName, replica: readOnly, affinity: tenant.id };
    return tenant.strict && tenant.role !== null ? { ...target, login: this.#login(tenant, tenant.role) } : target;
  }

  #login(tenant: Tenant, role: string): PoolLogin {
    // Keyed by role as well: a physical rename renames the role.
    const key = `${tenant.id}/${role}`;
    let login = this.#logins.get(key);
    if (login === undefined) {
      // Read and decrypted once, then kept (the router reads it before taking a pool slot).
      let password: Promise<string> | undefined;
      login = {
        user: role,
        password: () => {
          password ??= this.#loginPassword(tenant).catch((err: unknown) => {
            password = undefined;
            throw err;
          });
          return password;
        },
      };
      this.#logins.set(key, login);
    }
    return login;
  }

  /** Migrations in a tenant database run as the application's role; {@link grantAccess} follows them. */
  async enter(client: pg.ClientBase): Promise<void> {
    await client.query(`set local search_path to ${this.#searchPath}`);
  }

  /** The tenant's role may use every table and sequence of its database's `public` schema. */
  async grantAccess(client: pg.ClientBase, tenant: Tenant): Promise<void> {
    const statements = this.#grantStatements(tenant);
    // One round trip: names through quoteIdent only.
    if (statements.length > 0) await client.query(statements.join(';\n'));
  }

  async adopt(tenant: Tenant, role: string): Promise<void> {
    await this.#withMain(tenant.server, async (main) => {
      await createTenantRole(main, role);
      await main.query(`alter database ${quoteIdent(tenant.physicalName)} owner to ${quoteIdent(role)}`);
      await main.query(`revoke connect, temporary on database ${quoteIdent(tenant.physicalName)} from public`);
      await main.query(`comment on database ${quoteIdent(tenant.physicalName)} is ${quoteLiteral(this.#marker)}`);
    });
    await this.#inDatabase(tenant.server, tenant.physicalName, (client) => this.grantAccess(client, { ...tenant, role }));
  }

  routePrefix(tenant: Tenant, readOnly: boolean): RoutePrefix {
    return this.#prefixes.get(tenant, readOnly);
  }

  async verify(tenant: Tenant, target: string): Promise<TenantCheck> {
    const facts = await this.#withMain(tenant.server, async (main) => {
      const { rows } = await main.query<ContainerFacts>(
        `select d.oid is not null as container,
                coalesce(shobj_description(d.oid, 'pg_database') = $2, false) as marked,
                coalesce(not has_database_privilege('public', d.oid, 'CONNECT'), false) as closed,
                ($3::text is null or r.oid is not null) as role,
                ($3::text is null or coalesce(d.datdba = (case when $4 then (select oid from pg_roles where rolname = current_user) else r.oid end), false)) as owned,
                -- a strict tenant's role: a login role the application may not become
                ($3::text is null or case when $4 then coalesce(r.rolcanlogin and not pg_has_role(current_user, r.oid, 'SET'), false)
                                          else coalesce(pg_has_role(current_user, r.oid, 'MEMBER'), false) end) as member
           from (select 1) as one
           left join pg_database d on d.datname = $1
           left join pg_roles r on r.rolname = $3`,
        [tenant.physicalName, this.#marker, tenant.role, tenant.strict],
      );
      return rows[0]!;
    });
    const missing = missingSteps(facts, 'database');
    if (!facts.container) return { missing, ledger: [] };
    const ledger = await this.#inDatabase(tenant.server, tenant.physicalName, async (client) => {
      const ledger = await readLedgerIn(client, 'public');
      if (ledger === undefined) missing.push('migration ledger');
      else if (target !== '' && !ledger.some((l) => l.name === target)) missing.push(`migration ${target}`);
      // The ledger table is always there: privileges on it prove the grants (and the seeds, in
      // the same transaction) committed even when the tenant has no table of its own.
      if (tenant.role !== null && facts.role)
        for (const name of await missingPrivileges(client, 'public', tenant.role)) missing.push(`privileges on ${name}`);
      return ledger ?? [];
    });
    return { missing, ledger };
  }

  async exists(client: pg.ClientBase, tenant: Tenant): Promise<boolean> {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [tenant.physicalName]);
    return rowCount === 1;
  }

  /** A tenant database is never the registry's. */
  inRegistryDatabase(): boolean {
    return false;
  }

  /**
   * Creates the tenant's database, then records it; when
   * recording fails the database is dropped again.
   */
  async provision(request: ProvisionRequest): Promise<Tenant> {
    if (request.register !== undefined) throw new Error('a database tenant is not created in the transaction that registers it');
    const applied = await this.#create(request.tenant, request.migrations, request.seeds, request.step ?? (async () => undefined));
    await request.created();
    try {
      return await request.record(applied);
    } catch (err) {
      await this.drop(request.tenant).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Creates the tenant's database with every migration applied (cloned from the template when
   * it can), then runs `seeds` in it. On failure the database is dropped. Holds one connection of
   * the server at a time.
   */
  async #create(
    tenant: Tenant,
    migrations: readonly Migration[],
    seeds: readonly Migration[],
    step: (step: LifecycleStep) => Promise<void>,
  ): Promise<AppliedMigration[]> {
    const name = quoteIdent(tenant.physicalName);
    // What this attempt made: only that is dropped when it fails (a chosen name may meet a role
    // or database made meanwhile by someone else).
    const made = { role: false, database: false };
    try {
      const shared = this.#shared === undefined ? [] : await this.#shared.pinned();
      let template: string | undefined;
      if (migrations.length > 0 || shared.length > 0) {
        template = await this.#ensureTemplate(tenant.server, migrations, shared).catch((err: unknown) => {
          this.#logger.warn({ err, server: tenant.server }, 'template database unavailable; creating the tenant database and migrating it');
          return undefined;
        });
      }
      // A strict tenant's database stays the application's: PostgreSQL lets a role give a
      // database only to a role it may become, and the application may not become a strict role.
      const owner = tenant.role === null || tenant.strict ? '' : ` owner ${quoteIdent(tenant.role)}`;
      const cloned = await this.#withMain(tenant.server, async (main) => {
        if (tenant.role !== null) {
          if (tenant.strict) await createLoginRole(main, tenant.role, await this.#loginPassword(tenant));
          else await createTenantRole(main, tenant.role);
          made.role = true;
          await step('role-created');
        }
        const done =
          template !== undefined &&
          (await this.#clone(main, name, template, owner).catch((err: unknown) => {
            this.#ready.delete(`${tenant.server}/${template}`);
            this.#logger.warn(
              { err, server: tenant.server, template },
              'cloning the template failed; creating the tenant database and migrating it',
            );
            return false;
          }));
        if (!done) await main.query(`create database ${name}${owner}`);
        made.database = true;
        await step('database-created');
        // One round trip (names through quoteIdent, the marker through quoteLiteral), one
        // implicit transaction: closed to PUBLIC and marked together.
        await main.query(
          [
            `revoke connect, temporary on database ${name} from public`,
            ...(tenant.strict && tenant.role !== null
              ? [`grant connect, temporary on database ${name} to ${quoteIdent(tenant.role)}`]
              : []),
            `comment on database ${name} is ${quoteLiteral(this.#marker)}`,
          ].join(';\n'),
        );
        return done;
      });
      // Cloned, the database has its ledger already: its privileges (granted next) are what
      // tells a finished tenant apart.
      await step('database-secured');
      if (cloned) return await this.#finishClone(tenant, migrations.length > 0, seeds);
      return await this.#inDatabase(tenant.server, tenant.physicalName, async (client) => {
        // Shared tables first: the tenant's migrations may refer to them.
        if (this.#shared !== undefined) await this.#shared.applyIn(client, shared);
        const ledger = await applyMigrations(client, migrations);
        await this.grantAccess(client, tenant);
        // Seeds run as the tenant's role; a strict tenant's role is not one the application may become.
        if (tenant.role !== null && !tenant.strict) await client.query(`set local role ${quoteIdent(tenant.role)}`);
        for (const seed of seeds) await client.query(seed.up);
        return ledger;
      });
    } catch (err) {
      if (made.database)
        await this.drop(tenant).catch((e: unknown) =>
          this.#logger.error({ err: e, tenant: tenant.id }, 'could not drop a half-made tenant database'),
        );
      else if (made.role && tenant.role !== null) {
        const role = tenant.role;
        await this.#withMain(tenant.server, (main) => dropTenantRole(main, role)).catch((e: unknown) =>
          this.#logger.error({ err: e, tenant: tenant.id }, 'could not drop a half-made tenant role'),
        );
      }
      throw err;
    }
  }

  async #withMain<T>(server: string, fn: (main: pg.PoolClient) => Promise<T>): Promise<T> {
    const main = await this.#router.connect({ server });
    let destroy: Error | undefined;
    try {
      return await fn(main);
    } catch (err) {
      if (!(err instanceof Error && typeof (err as { severity?: unknown }).severity === 'string')) destroy = err as Error;
      throw err;
    } finally {
      this.#router.release(main, destroy);
    }
  }

  async drop(tenant: Tenant): Promise<void> {
    // A chosen name may meet a database that is not this registry's: that one is never dropped.
    if (!new RegExp(PHYSICAL_NAME).test(tenant.physicalName)) {
      const { rows } = await (
        await this.#router.admin(tenant.server)
      ).query<{ marker: string | null }>("select shobj_description(oid, 'pg_database') as marker from pg_database where datname = $1", [
        tenant.physicalName,
      ]);
      if (rows[0] !== undefined && rows[0].marker !== null && rows[0].marker !== this.#marker) throw notOurs('database', tenant);
    }
    await this.#router.closeDatabase(tenant.server, tenant.physicalName);
    try {
      const admin = await this.#router.admin(tenant.server);
      // WITH (FORCE) terminates the tenant's remaining backends (other processes' included).
      await admin.query(`drop database if exists ${quoteIdent(tenant.physicalName)} with (force)`);
      if (tenant.role !== null) await dropTenantRole(admin, tenant.role, inDatabaseOf(this.#router, tenant.server));
      if (tenant.role !== null) this.#logins.delete(`${tenant.id}/${tenant.role}`);
    } finally {
      await this.#router.reopenDatabase(tenant.server, tenant.physicalName);
    }
  }

  async containers(client: pg.ClientBase): Promise<{ name: string; marker: string | null }[]> {
    const { rows } = await client.query<{ name: string; marker: string | null }>(
      `select datname as name, shobj_description(oid, 'pg_database') as marker from pg_database
        where (datname ~ $1 or shobj_description(oid, 'pg_database') = $2) and not starts_with(datname, $3) order by 1`,
      [PHYSICAL_NAME, this.#marker, TEMPLATE_PREFIX],
    );
    return rows;
  }

  async existing(server: string, names: readonly string[]): Promise<Set<string>> {
    const admin = await this.#router.admin(server);
    const { rows } = await admin.query<{ name: string }>('select datname as name from pg_database where datname = any($1::text[])', [
      names,
    ]);
    return new Set(rows.map((r) => r.name));
  }

  /**
   * `ALTER DATABASE … RENAME` (and `ALTER ROLE … RENAME`) in one transaction, once nobody is
   * connected to the database: this process's pools of it are closed (new work waits), open
   * connections get `drainMs` to be released, then every remaining backend on it (other
   * processes' included) is terminated. `INVALID_STATE_TRANSITION` when some cannot be.
   */
  async rename(tenant: Tenant, to: string, options: { readonly renameRole: boolean; readonly drainMs: number }): Promise<void> {
    const from = tenant.physicalName;
    await this.#router.closeDatabase(tenant.server, from);
    try {
      const admin = await this.#router.admin(tenant.server);
      const deadline = Date.now() + options.drainMs;
      for (let attempt = 0; ; attempt++) {
        const { rows } = await admin.query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [from],
        );
        if (rows.length > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 25));
          continue;
        }
        if (rows.length > 0) {
          const { rows: ended } = await admin.query<{ ok: boolean }>(
            'select pg_terminate_backend(pid, 2000) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
            [from],
          );
          const refused = ended.filter((r) => !r.ok).length;
          if (refused > 0) throw busy(tenant, `${refused} connection(s) to its database could not be ended`);
          this.#logger.warn({ tenant: tenant.id, connections: ended.length }, 'connections to a renamed tenant database were terminated');
        }
        try {
          await inTransaction(
            () => admin.connect(),
            async (client) => {
              await client.query(`alter database ${quoteIdent(from)} rename to ${quoteIdent(to)}`);
              if (options.renameRole && tenant.role !== null)
                await client.query(`alter role ${quoteIdent(tenant.role)} rename to ${quoteIdent(to)}`);
            },
          );
          if (options.renameRole && tenant.role !== null) this.#logins.delete(`${tenant.id}/${tenant.role}`);
          break;
        } catch (err) {
          // 55006: somebody connected meanwhile (another process): end them and try again.
          if (sqlState(err) !== '55006') throw err;
          if (attempt >= 5) throw busy(tenant, 'new connections to its database kept arriving', err);
        }
      }
    } catch (err) {
      if ((err as { code?: unknown }).code === '42501')
        throw busy(tenant, 'connections to its database could not be ended (the role needs pg_signal_backend)', err);
      throw err;
    } finally {
      await this.#router.reopenDatabase(tenant.server, from);
    }
  }

  /**
   * A cloned database's first (and only) connection at creation: its ledger read and its role's
   * grants in one round trip with `BEGIN` — and `COMMIT` too when there are no seeds (seeds are
   * scripts: simple queries of their own, as the tenant's role, then `COMMIT`).
   */
  async #finishClone(tenant: Tenant, expectLedger: boolean, seeds: readonly Migration[]): Promise<AppliedMigration[]> {
    const client = await this.#router.connect({ server: tenant.server, database: tenant.physicalName });
    let broken: Error | undefined;
    let open = false;
    try {
      const statements: BatchStatement[] = [
        { text: 'begin' },
        { text: "select pg_catalog.set_config('search_path', $1, true)", values: [this.#searchPath] },
        { text: `select name, checksum, applied_at, duration_ms from ${LEDGER_TABLE} order by applied_at, name` },
        ...this.#grantStatements(tenant).map((text) => ({ text })),
      ];
      const commitInBatch = seeds.length === 0;
      if (commitInBatch) statements.push({ text: 'commit' });
      open = !commitInBatch;
      const results = await runBatch(client, statements);
      if (!commitInBatch) {
        // Seeds run as the tenant's role; a strict tenant's role is not one the application may become.
        if (tenant.role !== null && !tenant.strict) await client.query(`set local role ${quoteIdent(tenant.role)}`);
        for (const seed of seeds) await client.query(seed.up);
        await client.query('commit');
        open = false;
      }
      // Committed already without seeds: a clone without a ledger is dropped by the caller.
      return ledgerRows(results[2]!.rows as LedgerRow[], expectLedger);
    } catch (err) {
      // A failed batch that began a transaction leaves it open (failed): roll it back.
      if (open || (err as BatchError).batchIndex !== undefined)
        await client.query('rollback').catch((e: unknown) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
      throw err;
    } finally {
      client.release(broken ?? false);
    }
  }

  /** The statements of {@link grantAccess}. */
  #grantStatements(tenant: Tenant): string[] {
    if (tenant.role === null) return [];
    const r = quoteIdent(tenant.role);
    return [
      `grant all on all tables in schema public to ${r}`,
      `grant all on all sequences in schema public to ${r}`,
      // A strict tenant's database is the application's (its role is not one the application may
      // become): the tenant may create in its public schema as an owner would.
      ...(tenant.strict ? [`grant usage, create on schema public to ${r}`] : []),
    ];
  }

  /** Runs `fn` in a transaction on a connection to `database`. */
  async #inDatabase<T>(server: string, database: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return await inTransaction(() => this.#router.connect({ server, database }), fn, { enter: (client) => this.enter(client) });
  }

  async #clone(main: pg.ClientBase, name: string, template: string, owner: string): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await main.query(`create database ${name} template ${quoteIdent(template)}${owner}`);
        return true;
      } catch (err) {
        // 55006: somebody is connected to the template; try again shortly.
        if (sqlState(err) !== '55006') throw err;
        await new Promise((r) => setTimeout(r, 25 * (attempt + 1)));
      }
    }
    return false;
  }

  /**
   * The template for this migration set on this server, built once when missing (one build
   * per server at a time in this process; the others wait for it holding no connection).
   */
  async #ensureTemplate(server: string, migrations: readonly Migration[], shared: readonly Migration[]): Promise<string> {
    const name = templateName(migrations, shared);
    const key = `${server}/${name}`;
    if (this.#ready.has(key)) return name;
    let building = this.#building.get(key);
    if (building === undefined) {
      building = this.#buildTemplate(server, name, migrations, shared)
        .then(() => {
          this.#ready.add(key);
          return name;
        })
        .finally(() => this.#building.delete(key));
      this.#building.set(key, building);
    }
    return await building;
  }

  /**
   * Builds the template in a database of its own name (`<template>_b<random>`), marks it a
   * template and renames it into place. Needs no lock: when another process got there first
   * the rename fails with 42P04 and this build is dropped. Uses one connection at a time.
   */
  async #buildTemplate(server: string, name: string, migrations: readonly Migration[], shared: readonly Migration[]): Promise<void> {
    if (await this.#withMain(server, (main) => this.#templateReady(main, name))) return;
    const build = assertIdent(`${name}_b${randomBytes(4).toString('hex')}`);
    await this.#withMain(server, async (main) => {
      await main.query(`create database ${quoteIdent(build)}`);
      await main.query(`comment on database ${quoteIdent(build)} is ${quoteLiteral(this.#marker)}`);
    });
    let renamed = false;
    try {
      await this.#inDatabase(server, build, async (client) => {
        if (this.#shared !== undefined) await this.#shared.applyIn(client, shared);
        return await applyMigrations(client, migrations);
      });
      // Nobody may be connected to a template while it is cloned.
      await this.#router.closeDatabase(server, build);
      await this.#withMain(server, async (main) => {
        await main.query(`alter database ${quoteIdent(build)} with is_template true allow_connections false`);
        try {
          await main.query(`alter database ${quoteIdent(build)} rename to ${quoteIdent(name)}`);
          renamed = true;
        } catch (err) {
          if (sqlState(err) !== '42P04') throw err;
          // Another process built it meanwhile: use theirs.
        }
        // This registry's older templates are of no use any more; builds in progress of this
        // migration set, and other registries' templates, are left alone.
        const { rows } = await main.query<{ datname: string }>(
          `select datname from pg_database
            where starts_with(datname, $1) and datname <> $2 and not starts_with(datname, $2 || '_b')
              and shobj_description(oid, 'pg_database') = $3`,
          [TEMPLATE_PREFIX, name, this.#marker],
        );
        for (const r of rows) await this.#dropDatabase(main, assertIdent(r.datname));
      });
    } finally {
      if (!renamed) {
        await this.#router.closeDatabase(server, build).catch(() => undefined);
        await this.#withMain(server, (main) => this.#dropDatabase(main, build)).catch(() => undefined);
      }
      await this.#router.reopenDatabase(server, build).catch(() => undefined);
    }
    if (renamed) this.#logger.info({ server, template: name, migrations: migrations.length }, 'template database built');
  }

  async #dropDatabase(main: pg.ClientBase, name: string): Promise<void> {
    const quoted = quoteIdent(name);
    await main.query(`alter database ${quoted} with is_template false`).catch(() => undefined);
    await main.query(`drop database if exists ${quoted} with (force)`).catch(() => undefined);
  }

  async #templateReady(main: pg.ClientBase, name: string): Promise<boolean> {
    const { rowCount } = await main.query('select 1 from pg_database where datname = $1 and datistemplate', [name]);
    return rowCount === 1;
  }
}

interface LedgerRow {
  name: string;
  checksum: string;
  applied_at: Date;
  duration_ms: number;
}

/** A cloned database's ledger rows (read in the template's order); throws when `expected` ones are missing. */
function ledgerRows(rows: readonly LedgerRow[], expected: boolean): AppliedMigration[] {
  if (rows.length === 0 && expected)
    throw new TenantryError(ErrorCodes.PROVISIONING_FAILED, 'the template database has no migration ledger');
  return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }));
}

/** `INVALID_STATE_TRANSITION`: a database tenant's connections could not be drained for a rename. */
function busy(tenant: Tenant, why: string, cause?: unknown): TenantryError {
  return new TenantryError(
    ErrorCodes.INVALID_STATE_TRANSITION,
    `cannot rename the database of tenant '${tenant.slug}': ${why}; nothing was renamed — end them (or suspend the tenant) and try again`,
    { cause, context: { tenant: tenant.slug, server: tenant.server } },
  );
}
