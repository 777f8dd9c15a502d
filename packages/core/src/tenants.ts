import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, idempotencyKeyReused, invalidArgument, isTenantryError, tenantNotFound, TenantryError } from './errors.js';
import { assertDomain, assertSlug, parseTenantRef, physicalNameFor } from './identifiers.js';
import type { TenancyInternals } from './internals.js';
import { pinnedMigrations } from './migrations/migration-set.js';
import type { Migration } from './migrations/migration-source.js';
import { inTransaction } from './transaction.js';
import type { PendingPoolStats } from './pending-tenants.js';
import { Migrator } from './migrations/migrator.js';
import type { AppliedMigration } from './migrations/tenant-ledger.js';
import { assertPhysicalNameFree, renamePhysical, settlePhysicalRename, type RenamePhysicalOptions } from './physical-rename.js';
import { settleProvisioning } from './reconcile.js';
import { PLACED_ELSEWHERE, type NewTenant, type Queryable, type Transition } from './registry/tenant-registry.js';
import { sqlState } from './pg-errors.js';
import { TenantStatuses, type ActivityEntry, type ActorOptions, type IsolationKind, type Tenant, type TenantStatus } from './types.js';
import {
  canonicalJson,
  checkIdempotencyKey,
  checkMetadata,
  checkPhysicalName,
  checkText,
  decodeCursor,
  encodeCursor,
  type CheckedCreate,
  type CreateTenantInput,
  type CreateTenantOptions,
  type ListTenantsOptions,
  type TenantPage,
} from './tenant-input.js';

export type { CreateTenantInput, CreateTenantOptions, ListTenantsOptions, TenantPage } from './tenant-input.js';
export type { RenamePhysicalOptions } from './physical-rename.js';

/**
 * How long creates skip the one-transaction attempt after one found the least-loaded server is
 * not the registry's: in a fleet, that attempt costs two round trips (its batch, ROLLBACK) each
 * time it goes elsewhere; this keeps it to one attempt per pause.
 */
const PLACED_ELSEWHERE_PAUSE_MS = 5_000;

/** Serialises refills of the pending-tenant pool across processes (counted, then inserted). */
const PENDING_POOL_LOCK = 'tenantry.pending-tenants';

/**
 * The tenants API: provisioning and lifecycle, through an idempotent state machine whose every
 * transition is written to the activity log.
 *
 * ```
 * PROVISIONING → ACTIVE ⇄ SUSPENDED               any → DELETING → DELETED
 *      ↓           ↓  ↑ (migrate, resume)
 *    FAILED     MIGRATION_FAILED
 * ```
 *
 * A create interrupted by a stopped process is finished or undone (DELETED) by `reconcile()` —
 * or, for a schema tenant in the registry's database (created in one transaction), left undone
 * by PostgreSQL itself.
 */
export class Tenants {
  readonly #d: TenancyInternals;
  /** Until then, new tenants with no server asked for are placed the usual way (see {@link PLACED_ELSEWHERE_PAUSE_MS}). */
  #placedElsewhereUntil = 0;

  /** @internal created by `createTenancy()`. */
  constructor(deps: TenancyInternals) {
    this.#d = deps;
  }

  /**
   * Creates a tenant: a registry row, its schema or database, its role and every migration.
   * On failure nothing of the container remains; the tenant is `FAILED` with `errorMessage` and
   * the error is thrown as `PROVISIONING_FAILED`. A taken slug throws `TENANT_EXISTS` (a create
   * of that slug still under way is waited for first). A schema tenant on the registry's server
   * is created in ONE transaction: when the process stops before it commits, nothing of the
   * tenant exists and its slug is free. Other tenants are registered first: when the process
   * stops before it answers, `reconcile()` (at the next start) finishes the tenant if every step
   * was done, and otherwise undoes it so that its slug is free again. New tenants get the
   * migration set this process loaded at start (or at its last `migrate()`).
   *
   * @example
   * ```ts
   * const acme = await tenancy.tenants.create({ slug: 'acme', name: 'Acme Corp' }, { idempotencyKey: req.headers['idempotency-key'] });
   * acme.status; // 'ACTIVE'
   * ```
   */
  async create(input: CreateTenantInput, options: CreateTenantOptions = {}): Promise<Tenant> {
    if (input === null || typeof input !== 'object')
      throw invalidArgument('tenants.create() takes { slug, name, plan?, metadata?, isolation?, server?, strict?, physicalName? }');
    const slug = assertSlug(input.slug);
    const name = checkText(input.name, 'name', 200);
    const plan = input.plan === undefined || input.plan === null ? null : checkText(input.plan, 'plan', 100);
    const metadata = checkMetadata(input.metadata);
    const isolation = input.isolation ?? this.#d.defaultIsolation;
    if (!this.#d.strategies.some((s) => s.kind === isolation)) {
      throw invalidArgument(`isolation must be ${this.#d.strategies.map((s) => `'${s.kind}'`).join(' or ')}`);
    }
    const strict = input.strict === true;
    if (input.strict !== undefined && typeof input.strict !== 'boolean') throw invalidArgument('strict must be true or false');
    if (strict && isolation !== 'database')
      throw invalidArgument(
        "strict tenants are database tenants: give isolation: 'database' (a schema tenant shares its database's login role)",
      );
    if (strict && !this.#d.tenantRoles)
      throw invalidArgument('strict tenants need per-tenant roles: a registry user with CREATEROLE, and tenantRoles not false');
    const physicalName = input.physicalName === undefined ? undefined : checkPhysicalName(input.physicalName);
    const request: CheckedCreate = {
      slug,
      name,
      plan,
      metadata,
      isolation,
      server: input.server ?? null,
      ...(strict ? { strict } : {}),
      ...(physicalName === undefined ? {} : { physicalName }),
    };
    if (options.idempotencyKey === undefined) return await this.#provision(request, undefined, options);
    const key = {
      key: checkIdempotencyKey(options.idempotencyKey),
      hash: createHash('sha256').update(canonicalJson(request)).digest('hex'),
    };
    // An attempt undone after its process stopped frees the key: then this one creates anew.
    for (let attempt = 0; attempt < 3; attempt++) {
      const earlier = await this.#replay(key, options);
      if (earlier !== undefined) return earlier;
      try {
        return await this.#provision(request, key, options);
      } catch (err) {
        // Another attempt with this key registered first: answer as it does.
        if (!isTenantryError(err, ErrorCodes.TENANT_EXISTS) || (await this.#d.registry.findByIdempotencyKey(key.key)) === undefined)
          throw err;
      }
    }
    throw new TenantryError(ErrorCodes.INTERNAL, `tenant '${slug}': attempts with idempotency key '${key.key}' kept being undone`, {
      context: { tenant: slug },
    });
  }

  /**
   * The answer of an earlier create with the same idempotency key: its tenant (once its
   * provisioning ended: waited for, or finished or undone when its process stopped), its
   * failure, or undefined when there is none (or it was undone).
   */
  async #replay(key: { key: string; hash: string }, options: ActorOptions): Promise<Tenant | undefined> {
    const found = await this.#d.registry.findByIdempotencyKey(key.key);
    if (found === undefined) return undefined;
    if (found.requestHash !== key.hash) throw idempotencyKeyReused(key.key, found.tenant.slug);
    let tenant = found.tenant;
    if (tenant.status === 'PROVISIONING') {
      // Its lifecycle lock is held while the first attempt runs: this waits for it to end.
      const first = tenant;
      tenant = await this.#d.lifecycle.hold(first, false, async (_key, lock) => {
        const fresh = await this.#d.registry.find({ kind: 'id', value: first.id }, lock);
        if (fresh?.status !== 'PROVISIONING') return fresh ?? first;
        return (await settleProvisioning(this.#d, fresh, lock!, options.actor ?? 'idempotent-retry')).tenant;
      });
    }
    if (tenant.status === 'DELETED') return undefined;
    if (tenant.status === 'FAILED')
      throw new TenantryError(
        ErrorCodes.PROVISIONING_FAILED,
        `tenant '${tenant.slug}' could not be provisioned: ${tenant.errorMessage ?? 'no detail'}. Nothing was kept; fix the cause, delete the FAILED tenant and create it again`,
        { context: { tenant: tenant.slug } },
      );
    return tenant;
  }

  async #provision(input: CheckedCreate, key: { key: string; hash: string } | undefined, options: ActorOptions): Promise<Tenant> {
    const { slug, name, plan, metadata, isolation } = input;
    const migrations = await pinnedMigrations(this.#d.migrations);
    const target = migrations.at(-1)?.name ?? '';
    if (this.#d.pending?.serves(input) === true) {
      // A tenant provisioned ahead of demand, at the latest migration: one statement.
      const claimed = await this.#d.registry.claimPending({
        slug,
        name,
        plan,
        metadata,
        isolation,
        server: input.server,
        version: target === '' ? null : target,
        actor: options.actor,
        idempotencyKey: key?.key,
        requestHash: key?.hash,
      });
      this.#d.pending.claimed(isolation, claimed);
      if (claimed !== undefined) {
        this.#d.cache.invalidate(claimed.id);
        this.#d.logger.info({ tenant: claimed.id, slug, isolation, server: claimed.server }, 'tenant created from the pending pool');
        await this.#d.onStep?.('provisioned', claimed);
        return claimed;
      }
    }
    const seeds = (await this.#d.seeds?.load()) ?? [];
    if (input.physicalName === undefined && input.strict !== true) {
      const made = await this.#createInOneTransaction(input, key, migrations, seeds, options);
      if (made !== undefined) return made;
    }
    const server = await this.#place(input.server ?? undefined);
    const id = randomUUID();
    const { registry } = this.#d;
    const physicalName = input.physicalName ?? physicalNameFor(id);
    // A chosen name must be free on the server; the registry's unique index settles a race
    // between two creates, and CREATE itself one with a schema or database made meanwhile.
    if (input.physicalName !== undefined) await assertPhysicalNameFree(this.#d, server, physicalName);
    // Encrypted before anything is made: without the key, a strict create fails here.
    const loginSecret = input.strict === true ? this.#d.secrets.encrypt(randomBytes(24).toString('base64url')) : undefined;
    const created = await registry.insert({
      loginSecret,
      id,
      slug,
      name,
      plan,
      metadata,
      physicalName,
      role: this.#d.tenantRoles ? physicalName : null,
      isolation,
      server,
      targetVersion: target,
      actor: options.actor,
      idempotencyKey: key?.key,
      requestHash: key?.hash,
    });
    return await this.#build(created, migrations, seeds, options);
  }

  /**
   * Creates a tenant whose container goes in the registry's database (a schema tenant on the
   * registry's server) in ONE transaction on one connection: `BEGIN`, its registry row (the
   * server picked in the same statement), its lifecycle lock, role, schema and ledger in one
   * round trip; each migration and seed; then the ledger rows, its recording ACTIVE and `COMMIT`
   * in one round trip. A stop before that commit leaves nothing at all (the slug is free; there
   * is nothing for `reconcile()` to do). A failure rolls everything back and then records the
   * tenant FAILED with its error in a statement of its own, as a create that failed midway does.
   * Undefined — nothing was written — when the tenant goes elsewhere (another server, or a
   * strategy whose containers are not in the registry's database): the caller provisions it
   * the usual way.
   */
  async #createInOneTransaction(
    input: CheckedCreate,
    key: { key: string; hash: string } | undefined,
    migrations: readonly Migration[],
    seeds: readonly Migration[],
    options: ActorOptions,
  ): Promise<Tenant | undefined> {
    const { registry, registryServer, logger } = this.#d;
    if (input.server !== null && input.server !== registryServer) return undefined;
    if (input.server === null && Date.now() < this.#placedElsewhereUntil) return undefined;
    const strategy = this.#d.strategyFor(input.isolation);
    const id = randomUUID();
    const physicalName = physicalNameFor(id);
    const row: NewTenant = {
      id,
      slug: input.slug,
      name: input.name,
      plan: input.plan,
      metadata: input.metadata,
      physicalName,
      role: this.#d.tenantRoles ? physicalName : null,
      isolation: input.isolation,
      server: registryServer,
      targetVersion: migrations.at(-1)?.name ?? '',
      actor: options.actor,
      idempotencyKey: key?.key,
      requestHash: key?.hash,
    };
    const now = new Date();
    // The tenant as the registry is about to hold it: what the strategy makes its container from.
    const planned: Tenant = Object.freeze({
      id,
      slug: input.slug,
      name: input.name,
      status: 'PROVISIONING',
      isolation: input.isolation,
      server: registryServer,
      physicalName,
      role: row.role,
      strict: false,
      schemaVersion: null,
      lastMigrationAt: null,
      errorMessage: null,
      plan: input.plan,
      metadata: Object.freeze({ ...input.metadata }),
      createdAt: now,
      updatedAt: now,
    });
    if (!strategy.inRegistryDatabase(planned)) return undefined;
    logger.info({ tenant: id, slug: input.slug, isolation: input.isolation, server: registryServer }, 'provisioning tenant');
    const started = performance.now();
    let registered: Tenant | undefined;
    try {
      const tenant = await this.#d.lifecycle.hold(planned, true, async (lockInTransaction) =>
        strategy.provision({
          tenant: planned,
          migrations,
          seeds,
          lockInTransaction,
          register: {
            statement: registry.registerStatement(row, input.server),
            registered: async (result) => {
              registered = registry.tenantOf(result);
              await this.#d.onStep?.('registered', registered ?? planned);
            },
          },
          created: async () => await this.#d.onStep?.('container-created', registered ?? planned),
          step: async (step) => await this.#d.onStep?.(step, registered ?? planned),
          // Raises rather than matching no row: COMMIT rides in the same round trip.
          record: this.#recorder(planned, started, options, true),
        }),
      );
      this.#d.cache.invalidate(id);
      logger.info({ tenant: id, slug: input.slug, durationMs: Math.round(performance.now() - started) }, 'tenant provisioned');
      await this.#d.onStep?.('provisioned', tenant);
      return tenant;
    } catch (err) {
      // Nothing was registered: placed on another server (then the usual way, and for a while
      // without trying this one first), the slug, physical name or idempotency key is taken, or
      // no connection (SERVER_UNAVAILABLE, CONNECTION_BUDGET_EXHAUSTED…: thrown as they are).
      if (registered === undefined && sqlState(err) === PLACED_ELSEWHERE) {
        if (input.server === null) this.#placedElsewhereUntil = Date.now() + PLACED_ELSEWHERE_PAUSE_MS;
        return undefined;
      }
      const taken = registered === undefined ? registry.insertError(err, row) : undefined;
      if (taken !== undefined) throw taken;
      if (registered === undefined && err instanceof TenantryError) throw err;
      const failure = provisioningFailed(input.slug, err);
      // Rolled back: the tenant is recorded FAILED with its error, as when it failed midway.
      await registry
        .insertFailed(row, errorMessage(err))
        .catch((e: unknown) => logger.error({ err: e, tenant: id }, 'could not record the failed provisioning'));
      this.#d.cache.invalidate(id);
      logger.error({ err, tenant: id, slug: input.slug }, 'tenant provisioning failed; nothing was kept');
      throw failure;
    }
  }

  /**
   * The `record` of a provisioning: the tenant ACTIVE with its ledger mirror, in one statement
   * (on `db`, the provisioning transaction's connection, when it is in the registry's database).
   * With `orRaise` a tenant that is no longer PROVISIONING makes the statement fail.
   */
  #recorder(
    created: Tenant,
    started: number,
    options: ActorOptions,
    orRaise: boolean,
    lockDb?: Queryable,
  ): (applied: readonly AppliedMigration[], db?: Queryable) => Promise<Tenant> {
    const { id, slug, isolation, server } = created;
    return async (applied, db = lockDb) => {
      const durationMs = Math.round(performance.now() - started);
      const done = await this.#d.registry.transition(
        id,
        {
          from: ['PROVISIONING'],
          to: 'ACTIVE',
          action: 'provisioned',
          actor: options.actor,
          detail: { isolation, server, migrations: applied.length, durationMs },
          schemaVersion: applied.at(-1)?.name ?? null,
          // The ledger mirror goes in the same statement.
          applied,
          orRaise,
        },
        db,
      );
      if (!done.ok)
        throw new TenantryError(
          ErrorCodes.PROVISIONING_FAILED,
          `tenant '${slug}' changed to ${done.current?.status ?? 'nothing'} while it was being provisioned`,
          { context: { tenant: slug } },
        );
      return done.tenant;
    };
  }

  /**
   * Provisions one pending tenant of `isolation` on `server` when that pool holds fewer than
   * `size` (counted under a lock, so that processes refilling at once never exceed it).
   * @returns the pending tenant, or undefined when the pool was full.
   * @internal used by the pending-tenant pool (pending-tenants.ts).
   */
  async provisionPending(server: string, isolation: IsolationKind, size: number): Promise<Tenant | undefined> {
    const migrations = await pinnedMigrations(this.#d.migrations);
    const seeds = (await this.#d.seeds?.load()) ?? [];
    const id = randomUUID();
    const created = await inTransaction(
      () => this.#d.registryDb.connect(),
      async (client) => {
        const held = (await this.#d.registry.pendingCounts(client)).find((c) => c.server === server && c.isolation === isolation);
        if ((held?.total ?? 0) >= size) return undefined;
        return await this.#d.registry.insert(
          {
            id,
            slug: `pending.${id}`,
            name: 'pending tenant',
            plan: null,
            metadata: {},
            physicalName: physicalNameFor(id),
            role: this.#d.tenantRoles ? physicalNameFor(id) : null,
            isolation,
            server,
            targetVersion: migrations.at(-1)?.name ?? '',
            actor: 'pending-pool',
            kind: 'pending',
          },
          client,
        );
      },
      { lock: PENDING_POOL_LOCK },
    );
    return created === undefined ? undefined : await this.#build(created, migrations, seeds, { actor: 'pending-pool' });
  }

  /** Provisions a registered (PROVISIONING) tenant: its container, role, migrations and seeds; then ACTIVE. */
  async #build(created: Tenant, migrations: readonly Migration[], seeds: readonly Migration[], options: ActorOptions): Promise<Tenant> {
    const { id, slug, isolation, server } = created;
    const { registry, logger } = this.#d;
    logger.info({ tenant: id, slug, isolation, server }, 'provisioning tenant');
    await this.#d.onStep?.('registered', created);
    const started = performance.now();
    const strategy = this.#d.strategyFor(isolation);
    try {
      const tenant = await this.#d.lifecycle.hold(
        created,
        strategy.inRegistryDatabase(created),
        async (lockInTransaction, lockDb, fresh) => {
          // Until its lock was taken, another process may have taken this create for an
          // interrupted one and undone it: then nothing is made. (In the registry's database the
          // recording below is the check: it commits only from PROVISIONING.) The row is read in
          // the round trip that takes the lock.
          if (lockDb !== undefined && (fresh === undefined ? undefined : registry.tenantOf(fresh))?.status !== 'PROVISIONING')
            throw new TenantryError(
              ErrorCodes.PROVISIONING_FAILED,
              `tenant '${slug}' was settled by another process before it was provisioned`,
              {
                context: { tenant: slug },
              },
            );
          return await strategy.provision({
            tenant: created,
            migrations,
            seeds,
            lockInTransaction,
            created: async () => await this.#d.onStep?.('container-created', created),
            step: async (step) => await this.#d.onStep?.(step, created),
            // Registry writes go on the connection already held (no second one while holding it).
            record: this.#recorder(created, started, options, false, lockDb),
          });
        },
        registry.findStatement(id),
      );
      this.#d.cache.invalidate(id);
      logger.info({ tenant: id, slug, durationMs: Math.round(performance.now() - started) }, 'tenant provisioned');
      await this.#d.onStep?.('provisioned', tenant);
      return tenant;
    } catch (err) {
      const failure = provisioningFailed(slug, err);
      await registry
        .transition(id, { from: ['PROVISIONING'], to: 'FAILED', action: 'failed', actor: options.actor, error: errorMessage(err) })
        .catch((e: unknown) => logger.error({ err: e, tenant: id }, 'could not record the failed provisioning'));
      this.#d.cache.invalidate(id);
      logger.error({ err, tenant: id, slug }, 'tenant provisioning failed; nothing was kept');
      throw failure;
    }
  }

  /** The server a new tenant goes to: the one asked for, else the least-loaded with room. */
  async #place(requested: string | undefined): Promise<string> {
    if (requested !== undefined) {
      const row = await this.#d.serverRegistry.get(requested);
      if (!row)
        throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${String(requested)}'; list them with tenancy.servers.list()`, {
          context: { server: String(requested) },
        });
      if (row.draining)
        throw new TenantryError(
          ErrorCodes.SERVER_DRAINING,
          `server '${requested}' is draining and takes no new tenants; pick another or undrain it`,
          { context: { server: requested } },
        );
      if (row.capacity !== null && row.tenants >= row.capacity) {
        throw new TenantryError(
          ErrorCodes.NO_SERVER_CAPACITY,
          `server '${requested}' is full (${row.tenants} of ${row.capacity} tenants)`,
          { context: { server: requested } },
        );
      }
      return requested;
    }
    const picked = await this.#d.serverRegistry.pick();
    if (!picked)
      throw new TenantryError(
        ErrorCodes.NO_SERVER_CAPACITY,
        'every server is full or draining; add one with tenancy.servers.add() or raise a capacity',
      );
    return picked;
  }

  /**
   * Reads a tenant from the registry (not the cache), whatever its status.
   * By slug only live tenants are found; by id deleted ones too. Throws `TENANT_NOT_FOUND`.
   */
  async get(idOrSlug: string): Promise<Tenant> {
    const ref = parseTenantRef(idOrSlug);
    const tenant = await this.#d.registry.findTenant(ref);
    if (!tenant) throw tenantNotFound(idOrSlug);
    return tenant;
  }

  /**
   * Lists tenants in creation order.
   * @example
   * ```ts
   * let page = await tenancy.tenants.list({ limit: 100 });
   * while (page.nextCursor) page = await tenancy.tenants.list({ limit: 100, cursor: page.nextCursor });
   * ```
   */
  async list(options: ListTenantsOptions = {}): Promise<TenantPage> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalidArgument('limit must be an integer from 1 to 1000');
    if (options.status !== undefined && !TenantStatuses.includes(options.status))
      throw invalidArgument(`status must be one of ${TenantStatuses.join(', ')}`);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const { tenants, last } = await this.#d.registry.list({ status: options.status, limit, after });
    return { items: tenants, nextCursor: last === undefined ? null : encodeCursor(last) };
  }

  /** Suspends an ACTIVE tenant: its units of work fail with `TENANT_SUSPENDED`. Idempotent. */
  async suspend(idOrSlug: string, options: ActorOptions & { readonly reason?: string } = {}): Promise<Tenant> {
    const detail = options.reason === undefined ? {} : { reason: checkText(options.reason, 'reason', 500) };
    return await this.#change(idOrSlug, { from: ['ACTIVE'], to: 'SUSPENDED', action: 'suspend', actor: options.actor, detail });
  }

  /**
   * Makes a SUSPENDED tenant ACTIVE again. A `MIGRATION_FAILED` tenant is retried: its pending
   * migrations (re-read from the migration source) are applied, and it is ACTIVE again when
   * they succeed or when none is pending any more; when they fail again it stays
   * MIGRATION_FAILED and the migration's error is thrown. Idempotent.
   */
  async resume(idOrSlug: string, options: ActorOptions = {}): Promise<Tenant> {
    const tenant = await this.get(idOrSlug);
    if (tenant.status === 'MIGRATION_FAILED') {
      const run = await new Migrator(this.#d).migrate({
        tenants: [tenant.id],
        canary: 0,
        ...(options.actor === undefined ? {} : { actor: options.actor }),
      });
      const error = run.results[0]?.error;
      if (error) throw error;
      return await this.get(tenant.id);
    }
    return await this.#change(tenant.id, { from: ['SUSPENDED'], to: 'ACTIVE', action: 'resume', actor: options.actor });
  }

  /**
   * Changes a tenant's display name, plan and/or metadata (the slug: {@link rename}).
   *
   * @example
   * ```ts
   * await tenancy.tenants.update('acme', { name: 'Acme Corporation', plan: 'pro' });
   * ```
   */
  async update(
    idOrSlug: string,
    patch: { readonly name?: string; readonly plan?: string | null; readonly metadata?: Record<string, unknown> },
    options: ActorOptions = {},
  ): Promise<Tenant> {
    if (patch === null || typeof patch !== 'object') throw invalidArgument('tenants.update() takes { name?, plan?, metadata? }');
    const clean: { name?: string; plan?: string | null; metadata?: Record<string, unknown> } = {};
    if (patch.name !== undefined) clean.name = checkText(patch.name, 'name', 200);
    if (patch.plan !== undefined) clean.plan = patch.plan === null ? null : checkText(patch.plan, 'plan', 100);
    if (patch.metadata !== undefined) clean.metadata = checkMetadata(patch.metadata);
    const current = await this.get(idOrSlug);
    if (Object.keys(clean).length === 0) return current;
    const updated = await this.#d.registry.update(current.id, clean, options.actor);
    this.#d.cache.invalidate(current.id);
    if (!updated) throw tenantNotFound(idOrSlug);
    return updated;
  }

  /**
   * Changes a tenant's slug. The schema or database keeps its name (the physical name does not
   * come from the slug; see {@link renamePhysical}), so rename is instant. Throws
   * `TENANT_EXISTS` when the slug is taken.
   */
  async rename(idOrSlug: string, newSlug: string, options: ActorOptions = {}): Promise<Tenant> {
    const slug = assertSlug(newSlug);
    const current = await this.get(idOrSlug);
    if (current.slug === slug) return current;
    const renamed = await this.#d.registry.rename(current.id, slug, options.actor);
    this.#d.cache.invalidate(current.id);
    if (!renamed) throw tenantNotFound(idOrSlug);
    return renamed;
  }

  /**
   * Renames a tenant's schema or database — and its role, when the role is named after it (as
   * Tenantry names them) — to `newName`, e.g. `tenant_acme_corp`: `ALTER SCHEMA … RENAME` or
   * `ALTER DATABASE … RENAME`. The tenant keeps its id, slug, data and status (ACTIVE, SUSPENDED
   * or MIGRATION_FAILED); routing in this process uses the new name as soon as this returns, and
   * other processes' as soon as the registry's notification reaches them.
   *
   * A database cannot be renamed while anyone is connected to it: this process's pooled
   * connections to it are closed (new work on the tenant waits meanwhile), open ones get
   * `drainMs` to be released, then every remaining connection to it is terminated — those units
   * of work fail. `INVALID_STATE_TRANSITION` when some cannot be ended (the application's role
   * needs `pg_signal_backend` for other roles' sessions). A schema is renamed at once: units of
   * work of the tenant open at that moment fail on their next statement (suspend the tenant
   * first for a clean cut). Other tenants are not touched.
   *
   * Runs under the tenant's lifecycle lock, and is written to its activity log
   * (`physical-rename-started`, `physical-rename`). Crash-safe: when the process stops midway,
   * `reconcile()` finishes the rename (the server renamed the container) or undoes it (it did
   * not). Throws `INVALID_ARGUMENT` for a name the rules of `physicalName` refuse and
   * `TENANT_EXISTS` for a name taken on the tenant's server. Renaming to its current name
   * returns the tenant unchanged.
   *
   * @example
   * ```ts
   * const acme = await tenancy.tenants.renamePhysical('acme', 'tenant_acme_corp', { actor: 'ops' });
   * acme.physicalName; // 'tenant_acme_corp'
   * ```
   */
  async renamePhysical(idOrSlug: string, newName: string, options: RenamePhysicalOptions = {}): Promise<Tenant> {
    checkPhysicalName(newName, 'the new physical name');
    const tenant = await this.get(idOrSlug);
    if (tenant.status === 'DELETED' || tenant.status === 'DELETING') throw tenantNotFound(idOrSlug);
    return await renamePhysical(this.#d, tenant, newName, options);
  }

  /**
   * Deletes a tenant: DELETING, its schema dropped, then DELETED. The registry row stays (with
   * its activity log) and the slug becomes free. Idempotent: deleting a DELETED tenant (by id)
   * returns it; a crash halfway is finished by calling delete again.
   */
  async delete(idOrSlug: string, options: ActorOptions = {}): Promise<Tenant> {
    return await this.#destroy(await this.get(idOrSlug), options);
  }

  /**
   * Deletes a pending tenant the pool no longer needs (its size was lowered).
   * @internal used by the pending-tenant pool (pending-tenants.ts).
   */
  async discardPending(tenant: Tenant): Promise<void> {
    await this.#destroy(tenant, { actor: 'pending-pool' });
  }

  async #destroy(found: Tenant, options: ActorOptions): Promise<Tenant> {
    let tenant = found;
    if (tenant.status === 'DELETED') return tenant;
    if (tenant.status !== 'DELETING') {
      tenant = await this.#changeRow(tenant.id, tenant, {
        from: ['ACTIVE', 'SUSPENDED', 'FAILED', 'MIGRATION_FAILED', 'PROVISIONING', 'MIGRATING'],
        to: 'DELETING',
        action: 'delete',
        actor: options.actor,
      });
    }
    this.#d.cache.invalidate(tenant.id);
    const marked = tenant;
    await this.#d.onStep?.('delete-marked', marked);
    const deleted = await this.#d.lifecycle.hold(marked, false, async (_key, lock) => {
      // Its name as of now: a physical rename may have ended (or been left pending) meanwhile.
      let doomed = (await this.#d.registry.find({ kind: 'id', value: marked.id }, lock)) ?? marked;
      doomed = (await settlePhysicalRename(this.#d, doomed, lock!, options.actor ?? 'delete')).tenant;
      await this.#d.strategyFor(doomed.isolation).drop(doomed);
      await this.#d.onStep?.('container-dropped', doomed);
      return await this.#changeRow(doomed.id, doomed, { from: ['DELETING'], to: 'DELETED', action: 'deleted', actor: options.actor });
    });
    this.#d.logger.info({ tenant: tenant.id, slug: tenant.slug }, 'tenant deleted');
    await this.#d.onStep?.('deleted', deleted);
    return deleted;
  }

  /**
   * Registers a custom domain (e.g. `app.acme.com`) for a tenant, for the domain resolver.
   * Throws `INVALID_DOMAIN` or `DOMAIN_EXISTS`. Returns the normalised domain.
   */
  async addDomain(idOrSlug: string, domain: string, options: ActorOptions = {}): Promise<string> {
    const host = assertDomain(domain);
    const tenant = await this.get(idOrSlug);
    if (tenant.status === 'DELETED' || tenant.status === 'DELETING') throw tenantNotFound(idOrSlug);
    await this.#d.registry.addDomain(tenant.id, host, options.actor);
    this.#d.cache.invalidate(tenant.id);
    return host;
  }

  /** Removes a custom domain from a tenant; false when the tenant did not have it. */
  async removeDomain(idOrSlug: string, domain: string, options: ActorOptions = {}): Promise<boolean> {
    const host = assertDomain(domain);
    const tenant = await this.get(idOrSlug);
    const removed = await this.#d.registry.removeDomain(tenant.id, host, options.actor);
    this.#d.cache.invalidate(tenant.id);
    return removed;
  }

  /** A tenant's custom domains. */
  async domains(idOrSlug: string): Promise<string[]> {
    const tenant = await this.get(idOrSlug);
    return await this.#d.registry.domains(tenant.id);
  }

  /** How many tenants are in each status (every status present, zeros included). One registry query. */
  async countByStatus(): Promise<Record<TenantStatus, number>> {
    const counts = await this.#d.registry.countByStatus();
    return Object.fromEntries(TenantStatuses.map((s) => [s, counts[s] ?? 0])) as Record<TenantStatus, number>;
  }

  /**
   * The pending-tenant pool (`pendingTenants` in the options): its size, what each server holds
   * ready, and this process's claims and misses. Undefined when there is no pool.
   */
  async pendingPool(): Promise<PendingPoolStats | undefined> {
    return await this.#d.pending?.stats();
  }

  /**
   * Brings the pending-tenant pool to its size now and waits until it is (the pool refills in
   * the background on its own; this is for deploy scripts and tests). No-op without a pool.
   *
   * @example
   * ```ts
   * await tenancy.tenants.fillPending();
   * const signup = await tenancy.tenants.create({ slug: 'acme', name: 'Acme' }); // a ready tenant, claimed
   * ```
   */
  async fillPending(): Promise<void> {
    const pool = this.#d.pending;
    if (pool === undefined) return;
    await pool.settled();
    pool.refill();
    await pool.settled();
  }

  /** A tenant's activity log, oldest first. */
  async activity(idOrSlug: string, options: { readonly limit?: number } = {}): Promise<ActivityEntry[]> {
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw invalidArgument('limit must be an integer from 1 to 10000');
    const tenant = await this.get(idOrSlug);
    return await this.#d.registry.activity(tenant.id, limit);
  }

  /** A transition of the tenant the caller names. */
  async #change(idOrSlug: string, change: Transition): Promise<Tenant> {
    return await this.#changeRow(idOrSlug, await this.get(idOrSlug), change);
  }

  /** A transition of a row already found (a tenant, or a pending tenant the pool discards). */
  async #changeRow(idOrSlug: string, found: Tenant, change: Transition): Promise<Tenant> {
    const tenant = found;
    if (tenant.status === change.to) return tenant;
    const result = await this.#d.registry.transition(tenant.id, change);
    this.#d.cache.invalidate(tenant.id);
    if (result.ok) {
      this.#d.logger.info({ tenant: tenant.id, from: tenant.status, to: change.to, action: change.action }, 'tenant status changed');
      return result.tenant;
    }
    if (!result.current) throw tenantNotFound(idOrSlug);
    if (result.current.status === change.to) return result.current;
    throw new TenantryError(
      ErrorCodes.INVALID_STATE_TRANSITION,
      `cannot ${change.action} tenant '${result.current.slug}': it is ${result.current.status}, and ${change.action} needs ${change.from.join(' or ')}`,
      { context: { tenant: result.current.slug } },
    );
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `PROVISIONING_FAILED` for a create that failed with `err` (and was rolled back or undone). */
function provisioningFailed(slug: string, err: unknown): TenantryError {
  return new TenantryError(
    ErrorCodes.PROVISIONING_FAILED,
    `tenant '${slug}' could not be provisioned: ${errorMessage(err)}. Nothing was kept; fix the cause, delete the FAILED tenant and create it again`,
    {
      cause: err,
      context: { tenant: slug, ...(err instanceof TenantryError && err.context.migration ? { migration: err.context.migration } : {}) },
    },
  );
}
