/**
 * Draining a server by moving its tenants elsewhere: the server is marked draining (no new
 * tenant is placed on it), then every tenant on it is moved with the ordinary offline move, a
 * bounded number at a time. One tenant's failure never stops the others: each gets its own
 * result, as the migrator's tenants do. Tenants that cannot be moved now (PROVISIONING,
 * MIGRATING, FAILED, …) are reported as skipped and stay where they are.
 */
import { performance } from 'node:perf_hooks';
import { invalidArgument } from '../errors.js';
import { runConcurrently } from '../fan-out.js';
import type { TenancyInternals } from '../internals.js';
import type { TenantStatus } from '../types.js';
import { copiesOn, tenantsOn } from './mobility-registry.js';
import type { MobilityOptions, MoveResult, MoveTarget } from './mobility.js';

/** Options of `tenancy.mobility.drain()`. */
export interface DrainOptions extends Pick<MobilityOptions, 'actor'> {
  /** Server id every tenant goes to; default: for each tenant, the least-loaded server with room that is not draining. */
  readonly to?: string;
  /** Tenants moved at once, 1–16. Default 2. Each holds a few connections on both servers. */
  readonly concurrency?: number;
  /** How long each old copy is kept (on the drained server) before `purgeMoved()` drops it. Default 7 days; 0 drops it at once. */
  readonly retainHours?: number;
  /** Called after each tenant with its result. */
  readonly onProgress?: (progress: DrainProgress) => void;
}

/** The outcome of one tenant in a drain. */
export interface DrainTenantResult {
  readonly tenant: { readonly id: string; readonly slug: string };
  /** `moved`; `failed` (still on the drained server, on its old copy, as it was); `skipped` (its status allows no move now). */
  readonly status: 'moved' | 'failed' | 'skipped';
  /** Where it went (moved). */
  readonly to?: string;
  /** The tenant's status when it was skipped. */
  readonly tenantStatus?: TenantStatus;
  readonly pauseMs?: number;
  readonly error?: Error;
  readonly durationMs: number;
}

/** Progress of a drain, after each tenant. */
export interface DrainProgress {
  readonly server: string;
  readonly total: number;
  readonly done: number;
  readonly result: DrainTenantResult;
}

/** What a drain did. */
export interface DrainResult {
  readonly server: string;
  readonly results: readonly DrainTenantResult[];
  readonly counts: Readonly<Record<DrainTenantResult['status'], number>>;
  /** Tenants still on the server (failed, skipped, or placed there meanwhile by a process that had not seen the drain). */
  readonly remaining: number;
  /** Retained old copies still on the server; `purgeMoved()` drops them when their retention ends. */
  readonly retainedCopies: number;
  /** True when no tenant failed. */
  readonly ok: boolean;
  readonly durationMs: number;
}

const MOVABLE: readonly TenantStatus[] = ['ACTIVE', 'SUSPENDED'];

/** Checks the drain options (before any change). */
export function checkDrainOptions(options: DrainOptions): { concurrency: number } {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('drain(server, { to?, concurrency?, retainHours?, onProgress? })');
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
    throw invalidArgument('concurrency must be an integer from 1 to 16');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('onProgress must be a function');
  return { concurrency };
}

/** Moves every tenant of `server` (already marked draining) with `move`, `concurrency` at a time. */
export async function drainServer(
  d: TenancyInternals,
  server: string,
  options: DrainOptions,
  concurrency: number,
  move: (tenantId: string, target: MoveTarget) => Promise<MoveResult>,
): Promise<DrainResult> {
  const started = performance.now();
  const tenants = await tenantsOn(d.registryDb, server);
  const results: DrainTenantResult[] = new Array(tenants.length);
  let done = 0;
  await runConcurrently(tenants, concurrency, async (t, i) => {
    const t0 = performance.now();
    const tenant = { id: t.id, slug: t.slug };
    let result: DrainTenantResult;
    if (!MOVABLE.includes(t.status)) {
      result = { tenant, status: 'skipped', tenantStatus: t.status, durationMs: 0 };
    } else {
      try {
        // No `to`: the move picks the least-loaded server with room at its start, never this one (it is draining).
        const target = options.to ?? (await d.serverRegistry.pick());
        if (target === undefined) throw invalidArgument(`no server other than '${server}' has room; add one or raise a capacity`);
        const moved = await move(t.id, {
          server: target,
          ...(options.retainHours === undefined ? {} : { retainHours: options.retainHours }),
        });
        result = {
          tenant,
          status: 'moved',
          to: moved.tenant.server,
          pauseMs: moved.pauseMs,
          durationMs: Math.round(performance.now() - t0),
        };
      } catch (err) {
        d.logger.warn({ err, tenant: t.id, server }, 'drain: a tenant could not be moved');
        result = {
          tenant,
          status: 'failed',
          error: err instanceof Error ? err : new Error(String(err)),
          durationMs: Math.round(performance.now() - t0),
        };
      }
    }
    results[i] = result;
    done++;
    options.onProgress?.({ server, total: tenants.length, done, result });
  });
  const counts = { moved: 0, failed: 0, skipped: 0 };
  for (const r of results) counts[r.status]++;
  const remaining = (await tenantsOn(d.registryDb, server)).length;
  const retainedCopies = await copiesOn(d.registryDb, server);
  d.logger.info({ server, ...counts, remaining, retainedCopies }, 'server drained');
  return {
    server,
    results,
    counts,
    remaining,
    retainedCopies,
    ok: counts.failed === 0,
    durationMs: Math.round(performance.now() - started),
  };
}
