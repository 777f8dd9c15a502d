/**
 * Work across tenants: a function, an SQL statement or the seeds run in each ACTIVE tenant (or
 * in the tenants named), a bounded number at a time. Never throws for one tenant's failure:
 * each tenant gets its own result, as the migrator's do.
 */
import { performance } from 'node:perf_hooks';
import { invalidArgument } from './errors.js';
import { runConcurrently } from './fan-out.js';
import type { TenancyInternals } from './internals.js';
import type { TenantResolver } from './tenant-resolution.js';
import { inTenantTransaction } from './transaction.js';
import type { Tenant } from './types.js';

/** The outcome of a function run in one tenant by `forEachTenant`. */
export interface TenantRunResult<T> {
  readonly tenant: { readonly id: string; readonly slug: string };
  readonly status: 'ok' | 'failed';
  readonly value?: T;
  readonly error?: Error;
  readonly durationMs: number;
}

/** Options of `forEachTenant`, `runSql` and `seed`. */
export interface ForEachTenantOptions {
  /** Tenants at once. Default 4. */
  readonly concurrency?: number;
  /** Ids or slugs; default: every ACTIVE tenant. */
  readonly tenants?: readonly string[];
}

/** Runs `fn` for each tenant of `options` (default: every ACTIVE one), `concurrency` at a time. */
export async function eachTenant<T>(
  d: TenancyInternals,
  resolver: TenantResolver,
  fn: (tenant: Tenant) => Promise<T>,
  options: ForEachTenantOptions,
): Promise<TenantRunResult<T>[]> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalidArgument('concurrency must be a positive integer');
  const targets: Tenant[] = [];
  if (options.tenants !== undefined) {
    for (const ref of options.tenants) targets.push(await resolver.resolve(ref));
  } else {
    let after: string | undefined;
    do {
      const page = await d.registry.list({ status: 'ACTIVE', limit: 1000, after });
      targets.push(...page.tenants);
      after = page.last;
    } while (after !== undefined);
  }
  const results: TenantRunResult<T>[] = new Array(targets.length);
  await runConcurrently(targets, concurrency, async (t, i) => {
    const t0 = performance.now();
    const tenant = { id: t.id, slug: t.slug };
    try {
      const value = await fn(t);
      results[i] = { tenant, status: 'ok', value, durationMs: Math.round(performance.now() - t0) };
    } catch (err) {
      results[i] = { tenant, status: 'failed', error: err as Error, durationMs: Math.round(performance.now() - t0) };
    }
  });
  return results;
}

/** Runs the seeds in each tenant of `options`, each tenant in one transaction; the seeds' names per tenant. */
export async function seedTenants(
  d: TenancyInternals,
  resolver: TenantResolver,
  options: ForEachTenantOptions,
): Promise<TenantRunResult<string[]>[]> {
  if (d.seeds === undefined) throw invalidArgument('no seeds configured: pass seeds to createTenancy()');
  const seeds = await d.seeds.load();
  return await eachTenant(
    d,
    resolver,
    (tenant) =>
      inTenantTransaction(d.router, d.strategyFor(tenant.isolation), tenant, async (client) => {
        for (const s of seeds) await client.query(s.up);
        return seeds.map((s) => s.name);
      }),
    options,
  );
}
