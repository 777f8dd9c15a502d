/**
 * Start-up: `createTenancy()` checks the options, loads the migration and seed sets, opens the
 * registry's pool, brings the registry schema up to date, starts the listener, decides whether
 * tenants get roles, wires every service to one frozen {@link TenancyInternals}, and runs
 * `reconcile()`. Nothing here runs per request.
 */
import { ConnectionRouter, type PoolOptions } from './connection-router.js';
import { DatabaseIsolation } from './database-isolation.js';
import { ErrorCodes, invalidArgument, serverUnavailable, TenantryError } from './errors.js';
import { REGISTRY_SERVER, type LifecycleStep, type TenancyInternals } from './internals.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import { LifecycleLock } from './lifecycle-lock.js';
import { silentLogger, type Logger } from './logger.js';
import { migrationList, sqlFolder, type MigrationSource } from './migrations/migration-source.js';
import { pinnedMigrations } from './migrations/migration-set.js';
import { Plans, type PlanLimits } from './plans.js';
import { TenantCache, type CacheOptions } from './registry/registry-cache.js';
import { RegistryListener } from './registry/registry-listener.js';
import { migrateRegistry } from './registry/registry-migrations.js';
import { ServerRegistry } from './registry/server-registry.js';
import { TenantRegistry } from './registry/tenant-registry.js';
import { SchemaIsolation } from './schema-isolation.js';
import { assertSharedSchema, SharedTables } from './shared-tables.js';
import { PendingTenantPool, type PendingTenantsOptions } from './pending-tenants.js';
import type { Servers } from './servers.js';
import { Tenancy } from './tenancy.js';
import { loginRole, type LoginRoleFacts } from './tenant-roles.js';
import type { IsolationKind, Tenant } from './types.js';
import type { UnitOfWorkEvent } from './unit-of-work.js';
import { UrlCipher } from './url-cipher.js';

/** Options of {@link createTenancy}. Frozen on construction. */
export interface TenancyOptions {
  /** URL of the registry (master) database, e.g. `postgres://app:secret@db:5432/app`. */
  readonly registryUrl: string;
  /**
   * Tenant migrations: a folder of `NNNN_name.sql` files, or a {@link MigrationSource}.
   * Applied to every new tenant. Default: none.
   */
  readonly migrations?: string | MigrationSource;
  /**
   * Shared migrations: a folder of `NNNN_name.sql` files, or a {@link MigrationSource}, applied
   * into the {@link TenancyOptions.sharedSchema} of every server's own database (for its schema
   * tenants) and of every tenant database, at tenant creation and by `tenancy.migrateShared()`.
   * Every tenant sees that schema after its own on the search_path, read-only unless a shared
   * migration grants more (docs/migrations.md, "Shared tables"). Default: none.
   */
  readonly sharedMigrations?: string | MigrationSource;
  /** The shared tables' schema: an identifier, not `public`. Default `shared`. */
  readonly sharedSchema?: string;
  /** Connections per server. `max` bounds server connections whatever the tenant count. */
  readonly pool?: PoolOptions;
  /** The hard budget of connections per server (same as `pool.max`, which it overrides). */
  readonly maxConnectionsPerServer?: number;
  /** Isolation of new tenants unless `tenants.create()` says otherwise. Default `schema`. */
  readonly defaultIsolation?: IsolationKind;
  /**
   * Key that encrypts server URLs in the registry (AES-256-GCM): 64 hex digits or base64 of
   * 32 bytes. Default: `TENANTRY_ENCRYPTION_KEY`. Needed once servers other than the
   * registry's own are added.
   */
  readonly encryptionKey?: string;
  /**
   * Give every tenant its own NOLOGIN role, owner of its schema or database, switched to for
   * every statement: SQL naming another tenant's tables then fails with a permission error.
   * Needs a superuser or CREATEROLE. Default: on when the role allows it (a warning is logged
   * otherwise); `true` makes a missing privilege an error.
   */
  readonly tenantRoles?: boolean;
  /** Run `reconcile()` at start (finishes or cleans up what killed processes left). Default true. */
  readonly reconcileOnStart?: boolean;
  /**
   * Called when each unit of work ends, for metrics and logs (keep it cheap: it runs on the
   * hot path). `outcome` is `error` when the callback threw.
   */
  readonly onUnitOfWork?: (event: UnitOfWorkEvent) => void;
  /** Called at each step of provisioning and deletion (for logs, metrics, crash tests). */
  readonly onLifecycleStep?: (step: LifecycleStep, tenant: Tenant) => void | Promise<void>;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: Logger;
  /** In-process registry cache. */
  readonly cache?: CacheOptions;
  /**
   * LISTEN for tenant changes made by other processes (one extra connection). Default true.
   * When false, other processes' changes are seen after `cache.ttlMs`.
   */
  readonly listen?: boolean;
  /**
   * Ignored, kept so that existing configurations still compile: the routing statement is always
   * sent unnamed, so no SQL of a tenant can replace it (see docs/security.md), and it works
   * behind any PgBouncer.
   *
   * @deprecated has no effect.
   */
  readonly preparedStatements?: boolean;
  /**
   * Seed data: a folder of `NNNN_name.sql` files (or a source) run in every new tenant after its
   * migrations, in the same transaction, and on demand with `tenancy.seed()`. Write seeds so
   * that running them twice is harmless (`on conflict do nothing`).
   */
  readonly seeds?: string | MigrationSource;
  /** `application_name` of Tenantry's connections. Default `tenantry`. */
  readonly applicationName?: string;
  /**
   * Keep tenants provisioned ahead of demand, per server: `{ schema: 5, database: 2 }`. A create
   * (not strict, no physicalName) then claims a ready one in one registry statement instead of
   * provisioning. Pending tenants are migrated with the others and never listed or resolved; see
   * docs/registry.md, "Pending tenants". Default: none.
   */
  readonly pendingTenants?: PendingTenantsOptions;
  /**
   * Limits per plan name, selected by each tenant's `plan` (`default` for tenants without one or
   * with a name not listed here): its share of each server's connections, its statement
   * timeout, its request rate in an API that enforces it. A tenant's plan is read at every unit
   * of work, so `tenants.update(ref, { plan })` applies without a restart. Default: no limits.
   * See docs/operations.md, "Plans".
   *
   * @example
   * ```ts
   * plans: {
   *   default: { maxConnectionShare: 0.25, statementTimeoutMs: 5_000, requestsPerSecond: 20 },
   *   ENTERPRISE: { maxConnectionShare: 0.5, statementTimeoutMs: 30_000, requestsPerSecond: 200 },
   * }
   * ```
   */
  readonly plans?: Readonly<Record<string, PlanLimits>>;
}

/** Login roles already warned about in this process (`role@host:port`): the warning is said once. */
const warnedSuperusers = new Set<string>();

/**
 * The registry URL's user is a superuser: SQL that escapes its tenant role (docs/security.md)
 * then runs with every power of the server. Said once per role and server per process.
 */
function warnSuperuser(logger: Logger, role: string, url: string): void {
  const key = `${role}@${describeUrl(url)}`;
  if (warnedSuperusers.has(key)) return;
  warnedSuperusers.add(key);
  logger.warn(
    { role },
    `the registry user '${role}' is a PostgreSQL superuser: run Tenantry as a role with only LOGIN CREATEROLE (and CREATEDB for database tenants) — see docs/security.md, "The application's login role"`,
  );
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

/**
 * Starts Tenantry: connects to the registry, brings its schema up to date (safe with many
 * processes starting at once), and listens for changes from other processes.
 *
 * @example
 * ```ts
 * const tenancy = await createTenancy({
 *   registryUrl: process.env.DATABASE_URL!,
 *   migrations: './migrations',
 *   pool: { max: 10 },
 * });
 * await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
 * await tenancy.withTenant('acme', (db) => db.query('select * from posts'));
 * await tenancy.close();
 * ```
 */
export async function createTenancy(options: TenancyOptions): Promise<Tenancy> {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('createTenancy() takes an options object with at least registryUrl');
  const opts = Object.freeze({ ...options });
  if (typeof opts.registryUrl !== 'string' || !/^postgres(ql)?:\/\//.test(opts.registryUrl)) {
    throw invalidArgument('registryUrl must be a postgres:// URL, e.g. postgres://user:password@localhost:5432/app');
  }
  const logger = opts.logger ?? silentLogger;
  // Checked before anything is opened: a bad limit fails at start with its name.
  const plans = new Plans(opts.plans);
  const cache = new TenantCache(opts.cache);
  const applicationName = opts.applicationName ?? 'tenantry';
  const migrations =
    opts.migrations === undefined ? migrationList([]) : typeof opts.migrations === 'string' ? sqlFolder(opts.migrations) : opts.migrations;
  const sharedSource =
    opts.sharedMigrations === undefined
      ? undefined
      : typeof opts.sharedMigrations === 'string'
        ? sqlFolder(opts.sharedMigrations)
        : opts.sharedMigrations;
  const sharedSchema = assertSharedSchema(opts.sharedSchema ?? 'shared');
  if (sharedSource !== undefined) await pinnedMigrations(sharedSource);
  const seeds = opts.seeds === undefined ? undefined : typeof opts.seeds === 'string' ? sqlFolder(opts.seeds) : opts.seeds;
  // Fail at start, not at the first create, when the migration folder is broken.
  await pinnedMigrations(migrations);
  await seeds?.load();
  const keyText = opts.encryptionKey ?? process.env['TENANTRY_ENCRYPTION_KEY'];
  const cipher = keyText ? UrlCipher.parse(keyText) : undefined;
  let servers: Servers | undefined;
  const router = new ConnectionRouter(
    { ...opts.pool, ...(opts.maxConnectionsPerServer === undefined ? {} : { capacity: opts.maxConnectionsPerServer }) },
    applicationName,
    logger,
    async (id) => servers?.target(id),
  );
  router.addServer({ id: REGISTRY_SERVER, url: opts.registryUrl });
  const registryPool = router.adminSync(REGISTRY_SERVER);
  try {
    await migrateRegistry(registryPool, logger);
  } catch (err) {
    await router.close();
    if (err instanceof TenantryError && err.code !== ErrorCodes.SERVER_UNAVAILABLE) throw err;
    throw new TenantryError(
      ErrorCodes.SERVER_UNAVAILABLE,
      `cannot prepare the registry at ${describeUrl(opts.registryUrl)}: ${(err as Error).message}`,
      { cause: err, context: { server: REGISTRY_SERVER } },
    );
  }
  let listener: RegistryListener | undefined;
  if (opts.listen !== false) {
    listener = new RegistryListener(opts.registryUrl, cache, logger, applicationName);
    try {
      await listener.start();
    } catch (err) {
      await router.close();
      throw serverUnavailable(REGISTRY_SERVER, err);
    }
  }
  let tenantRoles = opts.tenantRoles ?? true;
  let login: LoginRoleFacts;
  try {
    login = await loginRole(registryPool);
  } catch (err) {
    await listener?.close();
    await router.close();
    throw serverUnavailable(REGISTRY_SERVER, err);
  }
  if (login.superuser) warnSuperuser(logger, login.name, opts.registryUrl);
  if (tenantRoles && !login.createRole) {
    if (opts.tenantRoles === true) {
      await router.close();
      await listener?.close();
      throw invalidArgument(
        'tenantRoles needs a registry user that may create roles: ALTER ROLE <app user> CREATEROLE, or set tenantRoles: false',
      );
    }
    logger.warn({}, 'per-tenant roles are off: the registry user may not create roles (grant it CREATEROLE to turn them on)');
    tenantRoles = false;
  }
  const registry = new TenantRegistry(registryPool);
  let registryId: string;
  try {
    registryId = await registry.registryId();
  } catch (err) {
    await listener?.close();
    await router.close();
    throw serverUnavailable(REGISTRY_SERVER, err);
  }
  const marker = `tenantry:${registryId}`;
  const shared = sharedSource === undefined ? undefined : new SharedTables(sharedSource, sharedSchema, marker);
  const strategies: Record<IsolationKind, IsolationStrategy> = {
    schema: new SchemaIsolation(router, marker, REGISTRY_SERVER, shared),
    database: new DatabaseIsolation(router, logger, marker, shared, async (tenant) => {
      const stored = await registry.loginSecret(tenant.id);
      if (stored === undefined)
        throw new TenantryError(ErrorCodes.INTERNAL, `strict tenant '${tenant.slug}' has no stored login password`, {
          context: { tenant: tenant.slug },
        });
      return servers!.decryptSecret(stored);
    }),
  };
  const serverRegistry = new ServerRegistry(registryPool);
  let pending: PendingTenantPool | undefined;
  try {
    pending = opts.pendingTenants === undefined ? undefined : new PendingTenantPool(opts.pendingTenants, registry, serverRegistry, logger);
  } catch (err) {
    await listener?.close();
    await router.close();
    throw err;
  }
  const internals: TenancyInternals = Object.freeze({
    registryServer: REGISTRY_SERVER,
    marker,
    router,
    registryDb: registryPool,
    registry,
    serverRegistry,
    cache,
    listener,
    strategyFor: (kind: IsolationKind) => strategies[kind],
    strategies: Object.freeze(Object.values(strategies)),
    lifecycle: new LifecycleLock(router, REGISTRY_SERVER),
    migrations,
    shared,
    seeds,
    defaultIsolation: opts.defaultIsolation ?? 'schema',
    plans,
    secrets: {
      encrypt: (plain: string) => servers!.encryptSecret(plain),
      decrypt: (stored: string) => servers!.decryptSecret(stored),
    },
    tenantRoles,
    logger,
    onStep: opts.onLifecycleStep,
    onUnitOfWork: opts.onUnitOfWork,
    pending,
  });
  const tenancy = new Tenancy(internals, registryId, opts.registryUrl, cipher);
  servers = tenancy.servers;
  // A read replica stored for the registry's own server (added above from registryUrl alone).
  try {
    const own = await servers.target(REGISTRY_SERVER);
    if (own?.replicaUrl) router.setReplica(REGISTRY_SERVER, own.replicaUrl);
  } catch (err) {
    logger.warn({ err }, "the read replica of the 'default' server could not be read (encryption key?); reads go to the primary");
  }
  if (opts.reconcileOnStart !== false) {
    const report = await tenancy.reconcile().catch((err: unknown) => {
      logger.error({ err }, 'reconcile at start failed; call tenancy.reconcile() to retry');
      return undefined;
    });
    if (report && (report.finished.length > 0 || report.cleaned.length > 0))
      logger.warn({ finished: report.finished, cleaned: report.cleaned }, 'reconcile settled tenants left behind by stopped processes');
  }
  // After reconcile: a refill cut short by a stopped process is settled before the pool counts.
  pending?.start(tenancy.tenants);
  return tenancy;
}
