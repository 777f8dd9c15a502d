import type { IsolationStrategy } from './isolation-strategy.js';
import type { TenancyInternals } from './internals.js';
import { LEDGER_TABLE, type AppliedMigration } from './migrations/tenant-ledger.js';
import { inTransaction } from './transaction.js';
import type { IsolationKind, Tenant } from './types.js';

/** What `reconcile()` did and found. */
export interface ReconcileReport {
  /** Tenants left PROVISIONING whose schema/database was complete: made ACTIVE. */
  readonly finished: readonly { readonly id: string; readonly slug: string }[];
  /** Tenants left PROVISIONING half-made (cleaned up, now FAILED) or DELETING (now DELETED). */
  readonly cleaned: readonly { readonly id: string; readonly slug: string; readonly status: 'FAILED' | 'DELETED' }[];
  /** Tenants another process is provisioning or deleting right now: left alone. */
  readonly inProgress: readonly { readonly id: string; readonly slug: string }[];
  /** Schemas and databases named like a tenant's that no live registry row owns. Never dropped. */
  readonly orphans: readonly { readonly server: string; readonly kind: IsolationKind; readonly name: string }[];
  /** Tenants created before per-tenant roles that were given one now. */
  readonly rolesAssigned: readonly { readonly id: string; readonly slug: string }[];
  /** Servers that could not be checked. */
  readonly unreachable: readonly { readonly server: string; readonly error: string }[];
}

/**
 * Finishes or cleans up what killed processes left behind, and reports orphans.
 * Safe to run while other processes work: a tenant whose lifecycle lock is held is skipped.
 */
export async function reconcile(d: TenancyInternals): Promise<ReconcileReport> {
  const finished: { id: string; slug: string }[] = [];
  const cleaned: { id: string; slug: string; status: 'FAILED' | 'DELETED' }[] = [];
  const inProgress: { id: string; slug: string }[] = [];
  const orphans: { server: string; kind: IsolationKind; name: string }[] = [];
  const unreachable: { server: string; error: string }[] = [];
  const source = await d.migrations.load();
  const stuck = await d.registry.stuck();
  /**
   * Settles one stuck tenant under its lifecycle lock, held on a registry connection that also
   * carries the registry writes; its container work takes one more connection at a time.
   */
  const settle = async (tenant: Tenant, targetVersion: string | null): Promise<void> => {
    const outcome = await d.lifecycle.tryHold(tenant, async (lock) => {
      const fresh = await d.registry.find({ kind: 'id', value: tenant.id }, lock);
      if (!fresh || (fresh.status !== 'PROVISIONING' && fresh.status !== 'DELETING')) return;
      const strategy = d.strategyFor(fresh.isolation);
      if (fresh.status === 'DELETING') {
        await strategy.drop(fresh);
        await d.registry.transition(fresh.id, { from: ['DELETING'], to: 'DELETED', action: 'deleted', actor: 'reconcile' }, lock);
        cleaned.push({ id: fresh.id, slug: fresh.slug, status: 'DELETED' });
      } else {
        // Done means: the ledger reached the migration the creating process was heading to.
        // (Rows from before that was recorded fall back to this process's migrations.)
        const target = targetVersion ?? source.at(-1)?.name ?? null;
        const ledger = target === null ? undefined : await completeLedger(d, strategy, fresh, target);
        if (ledger) {
          await d.registry.recordMigrations(lock, fresh.id, ledger);
          await d.registry.transition(
            fresh.id,
            {
              from: ['PROVISIONING'],
              to: 'ACTIVE',
              action: 'provisioned',
              actor: 'reconcile',
              detail: { reconciled: true },
              schemaVersion: ledger.at(-1)?.name ?? null,
            },
            lock,
          );
          finished.push({ id: fresh.id, slug: fresh.slug });
        } else {
          await strategy.drop(fresh);
          await d.registry.transition(
            fresh.id,
            {
              from: ['PROVISIONING'],
              to: 'FAILED',
              action: 'failed',
              actor: 'reconcile',
              error: 'provisioning was interrupted (the process stopped); nothing was kept — delete the tenant and create it again',
            },
            lock,
          );
          cleaned.push({ id: fresh.id, slug: fresh.slug, status: 'FAILED' });
        }
      }
      d.cache.invalidate(fresh.id);
    });
    if (outcome.skipped) inProgress.push({ id: tenant.id, slug: tenant.slug });
  };
  for (const { tenant, targetVersion } of stuck) {
    try {
      await settle(tenant, targetVersion);
    } catch (err) {
      d.logger.error({ err, tenant: tenant.id }, 'reconcile could not settle a tenant');
      unreachable.push({ server: tenant.server, error: err instanceof Error ? err.message : String(err) });
    }
  }
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
            if (marker === d.marker && owned.get(name) !== server.id) orphans.push({ server: server.id, kind: strategy.kind, name });
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
  return { finished, cleaned, inProgress, orphans, rolesAssigned, unreachable };
}

/** The tenant's ledger if its container exists and reached `target` ('' = no migrations), else undefined. */
async function completeLedger(
  d: TenancyInternals,
  strategy: IsolationStrategy,
  tenant: Tenant,
  target: string,
): Promise<AppliedMigration[] | undefined> {
  const admin = await d.router.admin(tenant.server);
  const main = await admin.connect();
  try {
    if (!(await strategy.exists(main, tenant))) return undefined;
  } finally {
    main.release();
  }
  try {
    const rows = await inTransaction(
      () => d.router.connect(strategy.target(tenant, false)),
      async (client) =>
        (
          await client.query<{ name: string; checksum: string; applied_at: Date; duration_ms: number }>(
            `select name, checksum, applied_at, duration_ms from ${LEDGER_TABLE} order by applied_at, name`,
          )
        ).rows,
      { enter: (client) => strategy.enter(client, tenant) },
    );
    if (target !== '' && !rows.some((r) => r.name === target)) return undefined;
    return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }));
  } catch {
    // No ledger table: the tenant's migrations never committed.
    return undefined;
  }
}
