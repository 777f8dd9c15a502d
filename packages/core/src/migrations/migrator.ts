// Over 450 lines on purpose: migrate, rollback, repair and status share the candidate query,
// the per-tenant transaction under its migration lock and the registry mirror; what is separable
// already lives beside it (tenant-ledger.ts applies a set, migration-set.ts pins the set,
// fan-out.ts bounds the concurrency).
import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, invalidArgument, TenantryError } from '../errors.js';
import { parseTenantRef } from '../identifiers.js';
import { runConcurrently } from '../fan-out.js';
import type { TenancyInternals } from '../internals.js';
import type { TenantRegistry } from '../registry/tenant-registry.js';
import type { Tenant } from '../types.js';
import type { Migration } from './migration-source.js';
import { applyMigrations, ensureLedger, LEDGER_TABLE, type AppliedMigration } from './tenant-ledger.js';
import { pinnedMigrations, reloadMigrations } from './migration-set.js';
import { inTenantTransaction, inTransaction } from '../transaction.js';

/** What to do when a tenant's migration fails. */
export type OnMigrationError = 'stop' | 'continue' | 'rollback-all';

/** Options of `tenancy.migrate()`. */
export interface MigrateOptions {
  /** Ids or slugs; default: every tenant that can be migrated. */
  readonly tenants?: readonly string[];
  /** Tenants migrated at once. Default 4; at most `pool.max - 1` (one connection stays for the registry). */
  readonly concurrency?: number;
  /**
   * `stop` (default): start no further tenant after a failure; the first tenant that fails is
   * taken out of service (`MIGRATION_FAILED`), any other that fails meanwhile stays in service
   * at its previous version — at most one tenant goes offline. `continue`: migrate every other
   * tenant; every tenant that fails is taken out of service. `rollback-all`: stop, undo this
   * run's migrations on the tenants it migrated (with their down parts), and put the failed
   * tenants back in service at their previous version: no tenant is left failed.
   */
  readonly onError?: OnMigrationError;
  /** Migrate this many tenants first; if any fails, touch no other. Default 1; 0 for none. */
  readonly canary?: number;
  /** Report what would be applied, from the registry alone; change nothing. */
  readonly dryRun?: boolean;
  /** Called after each tenant. */
  readonly onProgress?: (progress: MigrationProgress) => void;
  /** Recorded in the activity log. */
  readonly actor?: string;
}

/** How one tenant fared in a migration run. */
export type TenantMigrationStatus = 'migrated' | 'up-to-date' | 'pending' | 'failed' | 'skipped' | 'rolled-back';

/** A result per tenant, as Kysely's MigrationResultSet reports per migration. */
export interface TenantMigrationResult {
  readonly tenant: { readonly id: string; readonly slug: string };
  readonly status: TenantMigrationStatus;
  /** Migrations applied (or, for `pending`, that would be; for `rolled-back`, that were undone). */
  readonly applied: readonly string[];
  readonly error: TenantryError | null;
  readonly durationMs: number;
}

/** Emitted after each tenant. */
export interface MigrationProgress {
  readonly done: number;
  readonly total: number;
  readonly result: TenantMigrationResult;
}

/** What a migration run returns: never throws for a tenant's failure. */
export interface MigrationSummary {
  readonly results: readonly TenantMigrationResult[];
  readonly counts: Readonly<Record<TenantMigrationStatus, number>>;
  /** The last migration of the source. */
  readonly latest: string | null;
  /** True when no tenant failed. */
  readonly ok: boolean;
  readonly durationMs: number;
}

/** Options of `tenancy.rollback()`. */
export interface RollbackOptions {
  /** How many of each tenant's latest migrations to undo. Default 1. */
  readonly steps?: number;
  readonly tenants?: readonly string[];
  readonly concurrency?: number;
  readonly onProgress?: (progress: MigrationProgress) => void;
  readonly actor?: string;
}

/** Where the tenants stand, from the registry alone. */
export interface MigrationStatusReport {
  readonly latest: string | null;
  readonly migrations: readonly string[];
  /** Tenants per schema version (null: none applied). */
  readonly versions: readonly { readonly version: string | null; readonly tenants: number }[];
  /** Tenants with migrations to apply (or whose applied checksums differ). */
  readonly pending: number;
  readonly migrating: number;
  readonly failed: readonly { readonly id: string; readonly slug: string; readonly error: string | null }[];
}

interface Candidate {
  readonly tenant: Tenant;
  readonly applied: readonly string[];
}

const STATUSES: readonly TenantMigrationStatus[] = ['migrated', 'up-to-date', 'pending', 'failed', 'skipped', 'rolled-back'];

function asTenantryError(err: unknown, tenant: Tenant): TenantryError {
  if (err instanceof TenantryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TenantryError(ErrorCodes.MIGRATION_FAILED, `migrating tenant '${tenant.slug}' failed: ${message}`, {
    cause: err,
    context: { tenant: tenant.slug },
  });
}

/**
 * Applies one migration set to many tenants: bounded concurrency, a per-tenant advisory lock,
 * one transaction per tenant, a failure policy, progress, and a result per tenant.
 */
export class Migrator {
  readonly #d: TenancyInternals;

  constructor(deps: TenancyInternals) {
    this.#d = deps;
  }

  async migrate(options: MigrateOptions = {}): Promise<MigrationSummary> {
    const started = performance.now();
    const onError = options.onError ?? 'stop';
    if (!['stop', 'continue', 'rollback-all'].includes(onError))
      throw invalidArgument(`onError must be 'stop', 'continue' or 'rollback-all'`);
    const concurrency = this.#concurrency(options.concurrency);
    const canary = options.canary ?? 1;
    if (!Number.isInteger(canary) || canary < 0) throw invalidArgument('canary must be a non-negative integer');
    // A migration run is when this process takes up new migration files (new tenants get them too).
    const source = await reloadMigrations(this.#d.migrations);
    const candidates = await this.#candidates(source, options.tenants);
    const results = new Map<string, TenantMigrationResult>();
    const total = candidates.length;
    const record = (r: TenantMigrationResult): void => {
      results.set(r.tenant.id, r);
      options.onProgress?.({ done: results.size, total, result: r });
    };
    // A tenant out of service (or left MIGRATING) is looked at even when the registry says
    // nothing is pending: with nothing to apply it is back in service.
    const pending = candidates.filter((c) => c.tenant.status !== 'ACTIVE' || source.some((m) => !c.applied.includes(m.name)));
    // What the registry says is up to date needs no connection at all.
    for (const c of candidates) {
      if (!pending.includes(c)) record(result(c.tenant, 'up-to-date', [], null, 0));
    }
    if (options.dryRun) {
      for (const c of pending)
        record(
          result(
            c.tenant,
            'pending',
            source.filter((m) => !c.applied.includes(m.name)).map((m) => m.name),
            null,
            0,
          ),
        );
      return summarize(candidates, results, source, started);
    }
    let failed = false;
    // How many tenants this run took out of service: at most one unless onError is 'continue'.
    let takenOut = 0;
    const mayTakeOut = (): boolean => {
      if (onError !== 'continue' && takenOut > 0) return false;
      takenOut++;
      return true;
    };
    const migrateOne = async (c: Candidate): Promise<void> => {
      const r = await this.#migrateTenant(c.tenant, source, options.actor, mayTakeOut);
      if (r.status === 'failed') failed = true;
      record(r);
    };
    const skip = (c: Candidate): void => record(result(c.tenant, 'skipped', [], null, 0));
    const first = pending.slice(0, canary);
    const rest = pending.slice(canary);
    await runConcurrently(first, concurrency, migrateOne, { stop: () => failed && onError !== 'continue', skipped: skip });
    if (failed && canary > 0) {
      for (const c of rest) skip(c);
    } else {
      await runConcurrently(rest, concurrency, migrateOne, { stop: () => failed && onError !== 'continue', skipped: skip });
    }
    if (failed && onError === 'rollback-all') {
      const done = pending.filter((c) => results.get(c.tenant.id)?.status === 'migrated');
      await runConcurrently(done, concurrency, async (c) => {
        const names = results.get(c.tenant.id)!.applied;
        const r = await this.#rollbackTenant(c.tenant, source, { names }, options.actor);
        record(r.status === 'failed' ? r : result(c.tenant, 'rolled-back', r.applied, null, r.durationMs));
      });
      // The tenants that failed are at their previous version, as every other tenant is again:
      // back in service.
      for (const c of pending) {
        const r = results.get(c.tenant.id);
        if (r?.status !== 'failed' || r.applied.length > 0) continue;
        await this.#mark(c.tenant, {
          from: ['MIGRATION_FAILED'],
          to: 'ACTIVE',
          action: 'migrate-rolled-back',
          actor: options.actor,
          detail: { reason: "onError 'rollback-all': every tenant of this run is back at its previous version" },
        }).catch((e: unknown) => this.#d.logger.error({ err: e, tenant: c.tenant.id }, 'could not put a tenant back in service'));
      }
    }
    const summary = summarize(candidates, results, source, started);
    this.#d.logger.info({ counts: summary.counts, durationMs: summary.durationMs }, 'tenant migration run finished');
    return summary;
  }

  async rollback(options: RollbackOptions = {}): Promise<MigrationSummary> {
    const started = performance.now();
    const steps = options.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 1) throw invalidArgument('steps must be a positive integer');
    const concurrency = this.#concurrency(options.concurrency);
    const source = await reloadMigrations(this.#d.migrations);
    const candidates = await this.#candidates(source, options.tenants);
    const results = new Map<string, TenantMigrationResult>();
    await runConcurrently(candidates, concurrency, async (c) => {
      const r = await this.#rollbackTenant(c.tenant, source, { steps }, options.actor);
      results.set(c.tenant.id, r);
      options.onProgress?.({ done: results.size, total: candidates.length, result: r });
    });
    return summarize(candidates, results, source, started);
  }

  /** Accepts the current files' checksums for migrations already applied (after a deliberate edit). */
  async repair(options: { readonly tenants?: readonly string[]; readonly actor?: string } = {}): Promise<MigrationSummary> {
    const started = performance.now();
    const source = await reloadMigrations(this.#d.migrations);
    const candidates = await this.#candidates(source, options.tenants);
    const results = new Map<string, TenantMigrationResult>();
    await runConcurrently(candidates, this.#concurrency(undefined), async (c) => {
      const t0 = performance.now();
      try {
        const { value: fixed, ledger } = await this.#inTenant(c.tenant, async (client) => {
          const byName = new Map(source.map((m) => [m.name, m]));
          const { rows } = await client.query<{ name: string; checksum: string }>(`select name, checksum from ${LEDGER_TABLE}`);
          const changed = rows.filter((r) => byName.has(r.name) && byName.get(r.name)!.checksum !== r.checksum).map((r) => r.name);
          for (const name of changed)
            await client.query(`update ${LEDGER_TABLE} set checksum = $2 where name = $1`, [name, byName.get(name)!.checksum]);
          return changed;
        });
        await this.#syncRegistry(c.tenant, source, ledger, fixed.length > 0 ? 'migrate-repair' : null, options.actor, { repaired: fixed });
        results.set(c.tenant.id, result(c.tenant, fixed.length > 0 ? 'migrated' : 'up-to-date', fixed, null, performance.now() - t0));
      } catch (err) {
        results.set(c.tenant.id, result(c.tenant, 'failed', [], asTenantryError(err, c.tenant), performance.now() - t0));
      }
    });
    return summarize(candidates, results, source, started);
  }

  async status(): Promise<MigrationStatusReport> {
    const source = await pinnedMigrations(this.#d.migrations);
    const candidates = await this.#candidates(source, undefined);
    const overview = await this.#d.registry.migrationOverview();
    return {
      latest: source.at(-1)?.name ?? null,
      migrations: source.map((m) => m.name),
      versions: overview.versions,
      pending: candidates.filter((c) => source.some((m) => !c.applied.includes(m.name))).length,
      migrating: overview.migrating,
      failed: overview.failed,
    };
  }

  #concurrency(requested: number | undefined): number {
    const c = requested ?? 4;
    if (!Number.isInteger(c) || c < 1) throw invalidArgument('concurrency must be a positive integer');
    return Math.max(1, Math.min(c, this.#d.router.capacity - 1));
  }

  async #candidates(source: readonly Migration[], tenants: readonly string[] | undefined): Promise<Candidate[]> {
    let ids: string[] | null = null;
    if (tenants !== undefined) {
      if (!Array.isArray(tenants)) throw invalidArgument('tenants must be an array of ids or slugs');
      ids = [];
      for (const ref of tenants) {
        const parsed = parseTenantRef(ref);
        const t = await this.#d.registry.findTenant(parsed);
        if (!t) throw new TenantryError(ErrorCodes.TENANT_NOT_FOUND, `no tenant '${ref}'`, { context: { tenant: ref } });
        ids.push(t.id);
      }
    }
    return await this.#d.registry.migrationCandidates(source, ids);
  }

  /** Runs `fn` in one transaction on the tenant, under its migration lock; returns its value and the ledger as committed. */
  async #inTenant<T>(tenant: Tenant, fn: (client: pg.PoolClient) => Promise<T>): Promise<{ value: T; ledger: AppliedMigration[] }> {
    // Two migrators never run one tenant at once: the second waits, then finds nothing to do.
    const strategy = this.#d.strategyFor(tenant.isolation);
    return await inTenantTransaction(
      this.#d.router,
      strategy,
      tenant,
      async (client) => {
        await ensureLedger(client);
        const value = await fn(client);
        await strategy.grantAccess(client, tenant);
        return { value, ledger: await this.#ledger(client) };
      },
      `tenantry.migrate:${tenant.id}`,
    );
  }

  async #ledger(client: pg.ClientBase): Promise<AppliedMigration[]> {
    const { rows } = await client.query<{ name: string; checksum: string; applied_at: Date; duration_ms: number }>(
      `select name, checksum, applied_at, duration_ms from ${LEDGER_TABLE} order by applied_at, name`,
    );
    return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }));
  }

  /**
   * Applies what is missing to one tenant, in one transaction. On failure the transaction rolled
   * back (the tenant's data is as before): the tenant is taken out of service (MIGRATION_FAILED)
   * when it already was or `mayTakeOut()` allows it, else it stays in service at its version.
   */
  async #migrateTenant(
    tenant: Tenant,
    source: readonly Migration[],
    actor: string | undefined,
    mayTakeOut: () => boolean = () => true,
  ): Promise<TenantMigrationResult> {
    const t0 = performance.now();
    let marked = false;
    try {
      const { value: applied, ledger } = await this.#inTenant(tenant, async (client) => {
        const ledger = await this.#ledger(client);
        const done = new Map(ledger.map((l) => [l.name, l]));
        for (const m of source) {
          const row = done.get(m.name);
          if (row && row.checksum !== m.checksum) {
            throw new TenantryError(
              ErrorCodes.MIGRATION_CHECKSUM_MISMATCH,
              `migration '${m.name}' changed after it was applied to tenant '${tenant.slug}'; restore the file, or accept the change with tenancy.repairMigrations()`,
              { context: { tenant: tenant.slug, migration: m.name } },
            );
          }
        }
        const missing = source.filter((m) => !done.has(m.name));
        if (missing.length === 0) return [];
        await this.#mark(tenant, {
          from: ['ACTIVE', 'MIGRATING', 'MIGRATION_FAILED', 'FAILED'],
          to: 'MIGRATING',
          action: 'migrate',
          actor,
          detail: { pending: missing.map((m) => m.name) },
          asyncCommit: true,
        });
        marked = true;
        return await applyMigrations(client, missing);
      });
      await this.#syncRegistry(tenant, source, ledger, marked || tenant.status !== 'ACTIVE' ? 'migrated' : null, actor, {
        applied: applied.map((a) => a.name),
      });
      return result(
        tenant,
        applied.length > 0 ? 'migrated' : 'up-to-date',
        applied.map((a) => a.name),
        null,
        performance.now() - t0,
      );
    } catch (err) {
      const error = asTenantryError(err, tenant);
      // A tenant whose migration ran and failed is MIGRATION_FAILED: its data is as before, but
      // the application's code may expect the new schema. A refusal before anything ran
      // (checksum mismatch) leaves it as it was.
      if (marked) {
        const out = tenant.status === 'MIGRATION_FAILED' || tenant.status === 'FAILED' || mayTakeOut();
        await this.#mark(
          tenant,
          out
            ? { from: ['MIGRATING'], to: 'MIGRATION_FAILED', action: 'migrate-failed', actor, error: error.message }
            : {
                from: ['MIGRATING'],
                to: 'ACTIVE',
                action: 'migrate-failed',
                actor,
                detail: { error: error.message, kept: 'in service at its previous version: another tenant of this run is already out' },
              },
        ).catch((e: unknown) => this.#d.logger.error({ err: e, tenant: tenant.id }, 'could not record the failed migration'));
      }
      this.#d.logger.error({ err, tenant: tenant.id }, 'tenant migration failed; its transaction was rolled back');
      return result(tenant, 'failed', [], error, performance.now() - t0);
    }
  }

  async #rollbackTenant(
    tenant: Tenant,
    source: readonly Migration[],
    which: { steps?: number; names?: readonly string[] },
    actor: string | undefined,
  ): Promise<TenantMigrationResult> {
    const t0 = performance.now();
    let marked = false;
    try {
      const { value: undone, ledger } = await this.#inTenant(tenant, async (client) => {
        const ledger = await this.#ledger(client);
        const targets = which.names !== undefined ? ledger.filter((l) => which.names!.includes(l.name)) : ledger.slice(-(which.steps ?? 1));
        const byName = new Map(source.map((m) => [m.name, m]));
        const names: string[] = [];
        const downs = [...targets].reverse().map((row) => {
          const m = byName.get(row.name);
          if (!m?.down) {
            throw new TenantryError(
              ErrorCodes.MIGRATION_IRREVERSIBLE,
              `migration '${row.name}' has no down part; tenant '${tenant.slug}' was not rolled back`,
              {
                context: { tenant: tenant.slug, migration: row.name },
              },
            );
          }
          return { row, down: m.down };
        });
        if (downs.length === 0) return names;
        // MIGRATING while it runs, as a migration: a process killed after this transaction
        // committed but before the registry caught up leaves the tenant MIGRATING, which
        // reconcile() settles from its ledger — never ACTIVE with a version it no longer has.
        await this.#mark(tenant, {
          from: ['ACTIVE', 'MIGRATING', 'MIGRATION_FAILED', 'FAILED'],
          to: 'MIGRATING',
          action: 'rollback',
          actor,
          detail: { undo: downs.map((x) => x.row.name) },
          asyncCommit: true,
        });
        marked = true;
        for (const { row, down } of downs) {
          await client.query(down);
          await client.query(`delete from ${LEDGER_TABLE} where name = $1`, [row.name]);
          names.push(row.name);
        }
        return names;
      });
      await this.#syncRegistry(tenant, source, ledger, undone.length > 0 ? 'rollback' : null, actor, { rolledBack: undone });
      return result(tenant, undone.length > 0 ? 'rolled-back' : 'up-to-date', undone, null, performance.now() - t0);
    } catch (err) {
      const error = asTenantryError(err, tenant);
      // The undo rolled back: the tenant is as it was, in the state it was in.
      if (marked) {
        await this.#mark(tenant, {
          from: ['MIGRATING'],
          to: tenant.status === 'MIGRATING' ? 'ACTIVE' : tenant.status,
          action: 'rollback-failed',
          actor,
          detail: { error: error.message },
          error: tenant.status === 'ACTIVE' || tenant.status === 'MIGRATING' ? null : tenant.errorMessage,
        }).catch((e: unknown) => this.#d.logger.error({ err: e, tenant: tenant.id }, 'could not record the failed rollback'));
      }
      return result(tenant, 'failed', [], error, performance.now() - t0);
    }
  }

  /** Mirrors the tenant's ledger in the registry and makes it ACTIVE at its new version. */
  async #syncRegistry(
    tenant: Tenant,
    source: readonly Migration[],
    ledger: readonly AppliedMigration[],
    action: string | null,
    actor: string | undefined,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const order = new Map(source.map((m, i) => [m.name, i]));
    const version = [...ledger].sort((a, b) => (order.get(a.name) ?? -1) - (order.get(b.name) ?? -1)).at(-1)?.name ?? null;
    await inTransaction(
      () => this.#d.registryDb.connect(),
      async (client) => {
        // The mirror is rebuilt from the tenant's ledger whenever it lags: no need to wait for the flush.
        await client.query('set local synchronous_commit = off');
        await this.#d.registry.replaceMigrations(client, tenant.id, ledger);
        if (action !== null) {
          await this.#d.registry.transition(
            tenant.id,
            { from: ['ACTIVE', 'MIGRATING', 'MIGRATION_FAILED', 'FAILED'], to: 'ACTIVE', action, actor, detail, schemaVersion: version },
            client,
          );
        }
      },
    );
    this.#d.cache.invalidate(tenant.id);
  }

  async #mark(tenant: Tenant, change: Parameters<TenantRegistry['transition']>[1]): Promise<void> {
    await this.#d.registry.transition(tenant.id, change);
    this.#d.cache.invalidate(tenant.id);
  }
}

function result(
  tenant: Tenant,
  status: TenantMigrationStatus,
  applied: readonly string[],
  error: TenantryError | null,
  durationMs: number,
): TenantMigrationResult {
  return Object.freeze({
    tenant: Object.freeze({ id: tenant.id, slug: tenant.slug }),
    status,
    applied: Object.freeze([...applied]),
    error,
    durationMs: Math.round(durationMs),
  });
}

function summarize(
  candidates: readonly Candidate[],
  results: Map<string, TenantMigrationResult>,
  source: readonly Migration[],
  started: number,
): MigrationSummary {
  const ordered = candidates.map((c) => results.get(c.tenant.id)).filter((r): r is TenantMigrationResult => r !== undefined);
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<TenantMigrationStatus, number>;
  for (const r of ordered) counts[r.status]++;
  return Object.freeze({
    results: Object.freeze(ordered),
    counts: Object.freeze(counts),
    latest: source.at(-1)?.name ?? null,
    ok: counts.failed === 0,
    durationMs: Math.round(performance.now() - started),
  });
}
