import type { ConnectionRouter } from './connection-router.js';
import { ErrorCodes, TenantryError } from './errors.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import type { Logger } from './logger.js';
import type { MigrationSource } from './migrations/migration-source.js';
import { LEDGER_TABLE, type AppliedMigration } from './migrations/tenant-ledger.js';
import { quoteIdent } from './identifiers.js';
import type { ServerRegistry } from './registry/server-registry.js';
import type { TenantRegistry } from './registry/tenant-registry.js';
import type { TenantCache } from './registry/registry-cache.js';
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

export interface ReconcileDeps {
  readonly registry: TenantRegistry;
  readonly servers: ServerRegistry;
  readonly router: ConnectionRouter;
  readonly cache: TenantCache;
  readonly strategy: (kind: IsolationKind) => IsolationStrategy;
  readonly migrations: MigrationSource;
  readonly logger: Logger;
  readonly registryServer: string;
  readonly tenantRoles: boolean;
  /** `tenantry:<registry id>`, the comment on this registry's schemas and databases. */
  readonly marker: string;
  /** The per-server connection budget (`pool.max`). */
  readonly capacity: number;
  /** Runs `fn` as one of the lifecycle operations allowed at once (see Tenancy's lifecycle lock). */
  readonly lifecycleSlot: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The advisory lock a process holds (in the registry database) while it provisions or deletes a tenant. */
export function lifecycleLockKey(tenantId: string): string {
  return `tenantry.lifecycle:${tenantId}`;
}

/**
 * Finishes or cleans up what killed processes left behind, and reports orphans.
 * Safe to run while other processes work: a tenant whose lifecycle lock is held is skipped.
 */
export async function reconcile(d: ReconcileDeps): Promise<ReconcileReport> {
  const finished: { id: string; slug: string }[] = [];
  const cleaned: { id: string; slug: string; status: 'FAILED' | 'DELETED' }[] = [];
  const inProgress: { id: string; slug: string }[] = [];
  const orphans: { server: string; kind: IsolationKind; name: string }[] = [];
  const unreachable: { server: string; error: string }[] = [];
  const source = await d.migrations.load();
  const admin = await d.router.admin(d.registryServer);
  const stuck = await d.registry.stuck();
  /**
   * Settles one stuck tenant under its lifecycle lock, held on a registry connection that also
   * carries the registry writes; its container work takes one more connection at a time.
   */
  const settle = async (tenant: Tenant, targetVersion: string | null): Promise<void> => {
    if (tenant.server === d.registryServer && d.capacity < 2) {
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        `settling tenant '${tenant.slug}' needs two connections to the registry's server at once but pool.max is ${d.capacity}; raise pool.max to at least 2`,
      );
    }
    const lock = await admin.connect();
    try {
      // Held in an open transaction, like the provisioning process's own (PgBouncer-safe).
      await lock.query('begin');
      const { rows } = await lock.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as ok', [
        lifecycleLockKey(tenant.id),
      ]);
      if (!rows[0]?.ok) {
        await lock.query('rollback');
        inProgress.push({ id: tenant.id, slug: tenant.slug });
        return;
      }
      try {
        const fresh = await d.registry.find({ kind: 'id', value: tenant.id }, lock);
        if (!fresh || (fresh.status !== 'PROVISIONING' && fresh.status !== 'DELETING')) return;
        const strategy = d.strategy(fresh.isolation);
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
      } finally {
        await lock.query('commit');
      }
    } finally {
      lock.release();
    }
  };
  for (const { tenant, targetVersion } of stuck) {
    try {
      await d.lifecycleSlot(() => settle(tenant, targetVersion));
    } catch (err) {
      d.logger.error({ err, tenant: tenant.id }, 'reconcile could not settle a tenant');
      unreachable.push({ server: tenant.server, error: err instanceof Error ? err.message : String(err) });
    }
  }
  // Orphans: containers no live registry row owns.
  const owned = await d.registry.ownedContainers();
  for (const server of await d.servers.list()) {
    try {
      const serverAdmin = await d.router.admin(server.id);
      const client = await serverAdmin.connect();
      try {
        for (const kind of ['schema', 'database'] as const) {
          for (const { name, marker } of await d.strategy(kind).containers(client)) {
            // Only this registry's containers: another registry may share the server.
            if (marker === d.marker && owned.get(name) !== server.id) orphans.push({ server: server.id, kind, name });
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
        await d.strategy(tenant.isolation).adopt(tenant, tenant.physicalName);
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
  d: ReconcileDeps,
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
  const client = await d.router.connect(strategy.target(tenant, false));
  try {
    const table = tenant.isolation === 'schema' ? `${quoteIdent(tenant.physicalName)}.${LEDGER_TABLE}` : LEDGER_TABLE;
    const { rows } = await client.query<{ name: string; checksum: string; applied_at: Date; duration_ms: number }>(
      `select name, checksum, applied_at, duration_ms from ${table} order by applied_at, name`,
    );
    if (target !== '' && !rows.some((r) => r.name === target)) return undefined;
    return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }));
  } catch {
    return undefined;
  } finally {
    d.router.release(client);
  }
}
