import { ErrorCodes, TenantryError } from './errors.js';
import type { TenancyInternals } from './internals.js';
import { pinnedMigrations } from './migrations/migration-set.js';
import { LEDGER_TABLE } from './migrations/tenant-ledger.js';
import { settlePhysicalRename } from './physical-rename.js';
import { containerKey, type Queryable } from './registry/tenant-registry.js';
import { settleMobilityJobs, settleReplications, type SettledMobilityJob } from './mobility/settle.js';
import { dropAbandonedScratch } from './mobility/pg-dump-restore.js';
import { inTenantTransaction, inTransaction } from './transaction.js';
import type { IsolationKind, Tenant } from './types.js';

/** What `reconcile()` did and found. */
export interface ReconcileReport {
  /** Tenants left PROVISIONING whose every provisioning step was verified done: made ACTIVE. */
  readonly finished: readonly { readonly id: string; readonly slug: string }[];
  /**
   * Tenants left PROVISIONING half-made (undone: container and role dropped, now DELETED, their
   * slug free) or DELETING (now DELETED). `FAILED` is no longer reported (kept for compatibility).
   */
  readonly cleaned: readonly { readonly id: string; readonly slug: string; readonly status: 'FAILED' | 'DELETED' }[];
  /**
   * Tenants a killed migrator (or rollback) left MIGRATING: back to ACTIVE at the version their
   * own ledger shows (the run's transaction either committed or rolled back), the registry's
   * mirror of the ledger rebuilt from it.
   */
  readonly migrationsSettled: readonly { readonly id: string; readonly slug: string; readonly schemaVersion: string | null }[];
  /** Tenants another process is provisioning, deleting or migrating right now: left alone. */
  readonly inProgress: readonly { readonly id: string; readonly slug: string }[];
  /** Schemas and databases named like a tenant's (or marked as this registry's) that no live registry row owns. Never dropped. */
  readonly orphans: readonly { readonly server: string; readonly kind: IsolationKind; readonly name: string }[];
  /** Tenants created before per-tenant roles that were given one now. */
  readonly rolesAssigned: readonly { readonly id: string; readonly slug: string }[];
  /** Servers that could not be checked. */
  readonly unreachable: readonly { readonly server: string; readonly error: string }[];
  /** Restores in place and moves a stopped process left running: undone (the tenant back on its old copy), or still in progress. */
  readonly mobility: readonly SettledMobilityJob[];
  /**
   * Physical renames a stopped process left pending: `finished` (the server had renamed the
   * container: the tenant now has the new name) or `undone` (it had not: the tenant keeps the old).
   */
  readonly physicalRenames: readonly {
    readonly id: string;
    readonly slug: string;
    readonly outcome: 'finished' | 'undone';
    readonly physicalName: string;
  }[];
}

/**
 * Settles a tenant left PROVISIONING, holding its lifecycle lock on `lock`: finishes it (ACTIVE,
 * its ledger mirrored) when the strategy verifies that every step of its provisioning is done —
 * container, role, ownership, privileges, ledger up to the migration it was being provisioned
 * to — and otherwise undoes it completely: container and role dropped, the row DELETED with the
 * reason in its activity, so that its slug (and idempotency key) are free again.
 */
export async function settleProvisioning(
  d: TenancyInternals,
  tenant: Tenant,
  lock: Queryable,
  actor: string,
): Promise<{ outcome: 'finished' | 'undone'; tenant: Tenant; missing: readonly string[] }> {
  const strategy = d.strategyFor(tenant.isolation);
  // Done means: every step checked, up to the migration the creating process was heading to.
  // (Rows from before that was recorded fall back to this process's migrations.)
  const recorded = await d.registry.provisioningTarget(tenant.id, lock);
  const target = recorded ?? (await pinnedMigrations(d.migrations)).at(-1)?.name ?? '';
  const { missing, ledger } = await strategy.verify(tenant, target);
  if (missing.length === 0) {
    await d.registry.recordMigrations(lock, tenant.id, ledger);
    const done = await d.registry.transition(
      tenant.id,
      {
        from: ['PROVISIONING'],
        to: 'ACTIVE',
        action: 'provisioned',
        actor,
        detail: { reconciled: true },
        schemaVersion: ledger.at(-1)?.name ?? null,
      },
      lock,
    );
    d.cache.invalidate(tenant.id);
    if (done.ok) return { outcome: 'finished', tenant: done.tenant, missing };
    throw new TenantryError(ErrorCodes.INTERNAL, `tenant '${tenant.slug}' changed while it was being settled`, {
      context: { tenant: tenant.slug },
    });
  }
  d.logger.warn({ tenant: tenant.id, missing }, 'an interrupted create is undone: its provisioning was not complete');
  await strategy.drop(tenant);
  const undone = await d.registry.transition(
    tenant.id,
    {
      from: ['PROVISIONING'],
      to: 'DELETED',
      action: 'create-undone',
      actor,
      detail: { missing },
      error: `provisioning was interrupted (the process stopped) before it was complete (missing: ${missing.join(', ')}); nothing was kept and the slug is free — create the tenant again`,
    },
    lock,
  );
  d.cache.invalidate(tenant.id);
  if (undone.ok) return { outcome: 'undone', tenant: undone.tenant, missing };
  throw new TenantryError(ErrorCodes.INTERNAL, `tenant '${tenant.slug}' changed while it was being settled`, {
    context: { tenant: tenant.slug },
  });
}

/**
 * Settles a tenant left MIGRATING, unless a migrator is working on it now (its migration lock,
 * taken where the migrator takes it: on the tenant's own connection, is held). The tenant's
 * ledger is the truth: a killed run's transaction either committed (ledger and schema at the new
 * version) or rolled back (both at the old one); only the registry lags. Returns undefined when
 * the tenant is busy or no longer MIGRATING.
 *
 * A live migrator whose transaction has just rolled back marks its tenant MIGRATION_FAILED a
 * moment later; settled in between, the tenant stays ACTIVE at its previous version instead —
 * as a tenant that fails while another is already out of service does.
 */
async function settleMigrating(d: TenancyInternals, tenant: Tenant): Promise<{ schemaVersion: string | null } | undefined> {
  const strategy = d.strategyFor(tenant.isolation);
  const source = await pinnedMigrations(d.migrations);
  const order = new Map(source.map((m, i) => [m.name, i]));
  return await inTenantTransaction(d.router, strategy, tenant, async (client) => {
    const { rows: lock } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as ok', [
      `tenantry.migrate:${tenant.id}`,
    ]);
    if (!lock[0]!.ok) return undefined;
    const { rows: exists } = await client.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [LEDGER_TABLE]);
    const ledger = exists[0]!.ok
      ? (
          await client.query<{ name: string; checksum: string; applied_at: Date; duration_ms: number }>(
            `select name, checksum, applied_at, duration_ms from ${LEDGER_TABLE} order by applied_at, name`,
          )
        ).rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }))
      : [];
    const schemaVersion = [...ledger].sort((a, b) => (order.get(a.name) ?? -1) - (order.get(b.name) ?? -1)).at(-1)?.name ?? null;
    // Written while the migration lock is held: no migrator starts on the tenant meanwhile.
    const done = await inTransaction(
      () => d.registryDb.connect(),
      async (registry) => {
        const fresh = await d.registry.find({ kind: 'id', value: tenant.id }, registry);
        if (fresh?.status !== 'MIGRATING') return false;
        await d.registry.replaceMigrations(registry, tenant.id, ledger);
        const moved = await d.registry.transition(
          tenant.id,
          {
            from: ['MIGRATING'],
            to: 'ACTIVE',
            action: 'migration-settled',
            actor: 'reconcile',
            detail: { reason: 'left MIGRATING by a process that stopped; back in service at the version its ledger shows' },
            schemaVersion,
          },
          registry,
        );
        return moved.ok;
      },
    );
    d.cache.invalidate(tenant.id);
    return done ? { schemaVersion } : undefined;
  });
}

/**
 * Finishes or cleans up what killed processes left behind, and reports orphans.
 * Safe to run while other processes work: a tenant whose lifecycle lock is held is skipped.
 */
export async function reconcile(d: TenancyInternals): Promise<ReconcileReport> {
  const finished: { id: string; slug: string }[] = [];
  const cleaned: { id: string; slug: string; status: 'FAILED' | 'DELETED' }[] = [];
  const inProgress: { id: string; slug: string }[] = [];
  const migrationsSettled: { id: string; slug: string; schemaVersion: string | null }[] = [];
  const orphans: { server: string; kind: IsolationKind; name: string }[] = [];
  const unreachable: { server: string; error: string }[] = [];
  // Online moves' subscriptions and slots first: they hold the copies dropped below.
  await settleReplications(d).catch((err: unknown) => d.logger.error({ err }, 'reconcile could not clean online moves'));
  const stuck = await d.registry.stuck();
  /**
   * Settles one stuck tenant under its lifecycle lock, held on a registry connection that also
   * carries the registry writes; its container work takes one more connection at a time.
   */
  const settle = async (tenant: Tenant): Promise<void> => {
    const outcome = await d.lifecycle.tryHold(tenant, async (lock) => {
      const fresh = await d.registry.find({ kind: 'id', value: tenant.id }, lock);
      if (!fresh || (fresh.status !== 'PROVISIONING' && fresh.status !== 'DELETING')) return;
      if (fresh.status === 'DELETING') {
        const named = (await settlePhysicalRename(d, fresh, lock, 'reconcile')).tenant;
        await d.strategyFor(fresh.isolation).drop(named);
        await d.registry.transition(fresh.id, { from: ['DELETING'], to: 'DELETED', action: 'deleted', actor: 'reconcile' }, lock);
        d.cache.invalidate(fresh.id);
        cleaned.push({ id: fresh.id, slug: fresh.slug, status: 'DELETED' });
        return;
      }
      const settled = await settleProvisioning(d, fresh, lock, 'reconcile');
      if (settled.outcome === 'finished') finished.push({ id: fresh.id, slug: fresh.slug });
      else cleaned.push({ id: fresh.id, slug: fresh.slug, status: 'DELETED' });
    });
    if (outcome.skipped) inProgress.push({ id: tenant.id, slug: tenant.slug });
  };
  for (const { tenant } of stuck) {
    try {
      await settle(tenant);
    } catch (err) {
      d.logger.error({ err, tenant: tenant.id }, 'reconcile could not settle a tenant');
      unreachable.push({ server: tenant.server, error: err instanceof Error ? err.message : String(err) });
    }
  }
  // Physical renames left pending (before orphans are looked for: the container has one name again).
  const physicalRenames: { id: string; slug: string; outcome: 'finished' | 'undone'; physicalName: string }[] = [];
  for (const tenant of await d.registry.pendingPhysicalRenames()) {
    try {
      const outcome = await d.lifecycle.tryHold(tenant, async (lock) => {
        const fresh = await d.registry.find({ kind: 'id', value: tenant.id }, lock);
        return fresh === undefined ? undefined : await settlePhysicalRename(d, fresh, lock, 'reconcile');
      });
      if (outcome.skipped) inProgress.push({ id: tenant.id, slug: tenant.slug });
      else if (outcome.value !== undefined && outcome.value.outcome !== 'none')
        physicalRenames.push({
          id: tenant.id,
          slug: tenant.slug,
          outcome: outcome.value.outcome,
          physicalName: outcome.value.tenant.physicalName,
        });
    } catch (err) {
      d.logger.error({ err, tenant: tenant.id }, 'reconcile could not settle a physical rename');
      unreachable.push({ server: tenant.server, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const mobility = await settleMobilityJobs(d).catch((err: unknown) => {
    d.logger.error({ err }, 'reconcile could not settle interrupted restores and moves');
    return [];
  });
  // Tenants a killed migrator left MIGRATING (one that is running holds their migration lock).
  let after: string | undefined;
  do {
    const page = await d.registry.list({ status: 'MIGRATING', limit: 500, after });
    after = page.last;
    for (const tenant of page.tenants) {
      try {
        const settled = await settleMigrating(d, tenant);
        if (settled) migrationsSettled.push({ id: tenant.id, slug: tenant.slug, schemaVersion: settled.schemaVersion });
        else inProgress.push({ id: tenant.id, slug: tenant.slug });
      } catch (err) {
        d.logger.error({ err, tenant: tenant.id }, 'reconcile could not settle a tenant left MIGRATING');
        unreachable.push({ server: tenant.server, error: err instanceof Error ? err.message : String(err) });
      }
    }
  } while (after !== undefined);
  if (migrationsSettled.length > 0)
    d.logger.warn({ tenants: migrationsSettled }, 'tenants left MIGRATING by a stopped process are back in service');
  // Orphans: containers no live registry row owns.
  const owned = await d.registry.ownedContainers();
  for (const server of await d.serverRegistry.list()) {
    try {
      const serverAdmin = await d.router.admin(server.id);
      const client = await serverAdmin.connect();
      try {
        for (const strategy of d.strategies) {
          for (const { name, marker } of await strategy.containers(client)) {
            // Only this registry's containers: another registry may share the server.
            if (marker === d.marker && !owned.has(containerKey(server.id, name)))
              orphans.push({ server: server.id, kind: strategy.kind, name });
          }
        }
      } finally {
        client.release();
      }
    } catch (err) {
      unreachable.push({ server: server.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (orphans.length > 0) d.logger.warn({ orphans }, 'schemas or databases without a live tenant found; they were left in place');
  // Scratch databases of pg_dump restores whose process stopped (a live one holds its job's lock).
  await dropAbandonedScratch(d, new Set(unreachable.map((u) => u.server)));
  // Tenants created before per-tenant roles get theirs: the role, then ownership of everything.
  const rolesAssigned: { id: string; slug: string }[] = [];
  if (d.tenantRoles) {
    for (const tenant of await d.registry.withoutRole()) {
      try {
        await d.strategyFor(tenant.isolation).adopt(tenant, tenant.physicalName);
        await d.registry.setRole(tenant.id, tenant.physicalName);
        d.cache.invalidate(tenant.id);
        rolesAssigned.push({ id: tenant.id, slug: tenant.slug });
      } catch (err) {
        d.logger.error({ err, tenant: tenant.id }, 'could not give a tenant its role');
        unreachable.push({ server: tenant.server, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return { finished, cleaned, migrationsSettled, inProgress, orphans, rolesAssigned, unreachable, mobility, physicalRenames };
}
