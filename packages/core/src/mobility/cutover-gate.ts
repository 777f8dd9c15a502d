/**
 * The cutover gate of an online move: while a tenant's registry row carries the
 * `tenantry.cutover` metadata key (set by the mover, announced to every process, cleared by the
 * same registry transaction that switches the tenant to its new copy), new units of work for it
 * WAIT where the tenant is resolved (tenant-resolution.ts) instead of failing, then run on the
 * placement the registry names once the key is gone. The wait is bounded by the deadline the
 * mover wrote into the key: past it the resolution fails with `TENANT_NOT_READY` (retryable).
 *
 * In the mover's own process the waiters are woken at once; in other processes they re-read
 * the registry row every few milliseconds.
 */
import { ErrorCodes, TenantryError } from '../errors.js';
import type { TenancyInternals } from '../internals.js';
import type { Tenant } from '../types.js';

/** The metadata key that closes a tenant's gate: `{ job, until }` (until: epoch ms). */
export const CUTOVER_KEY = 'tenantry.cutover';

const POLL_MS = 10;

/** Local waiters, woken when this process's mover opens the gate. */
const local = new Map<string, Set<() => void>>();

/** The deadline of the tenant's closed gate, or undefined when it is open. */
export function cutoverDeadline(tenant: Tenant): number | undefined {
  const v = tenant.metadata?.[CUTOVER_KEY] as { until?: unknown } | undefined;
  return v !== undefined && v !== null && typeof v === 'object' && typeof v.until === 'number' ? v.until : undefined;
}

/** Wakes this process's waiters for `tenantId` (the mover calls it after the switch or an undo). */
export function openLocalGate(tenantId: string): void {
  const waiters = local.get(tenantId);
  local.delete(tenantId);
  for (const wake of waiters ?? []) wake();
}

/**
 * Waits while `tenant`'s gate is closed, re-reading its row from the registry; returns the row
 * once the gate is open (the caller applies the status gate to it). Throws `TENANT_NOT_READY`
 * after the mover's deadline.
 */
export async function waitForCutover(d: TenancyInternals, tenant: Tenant): Promise<Tenant | undefined> {
  let current: Tenant | undefined = tenant;
  for (;;) {
    const until = current === undefined ? undefined : cutoverDeadline(current);
    if (until === undefined) return current;
    if (Date.now() > until)
      throw new TenantryError(
        ErrorCodes.TENANT_NOT_READY,
        `tenant '${tenant.slug}' is being moved and its cutover took longer than planned; retry in a moment`,
        { context: { tenant: tenant.slug, retryAfterSeconds: 1 } },
      );
    await new Promise<void>((resolve) => {
      let set = local.get(tenant.id);
      if (set === undefined) local.set(tenant.id, (set = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, POLL_MS);
      set.add(wake);
    });
    current = await d.registry.findTenant({ kind: 'id', value: tenant.id }, d.registryDb);
  }
}
