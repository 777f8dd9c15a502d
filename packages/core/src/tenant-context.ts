import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tenant } from './types.js';
import type { TenantDb } from './unit-of-work.js';

/** What the current async context knows about its tenant. */
export interface TenantContext {
  readonly tenant: Tenant;
  /** Identifies the Tenancy that entered the context (several may live in one process). */
  readonly owner: object;
  /** The unit of work in progress, inside `withTenant` (ORM adapters join it). */
  readonly db?: TenantDb;
}

const storage = new AsyncLocalStorage<TenantContext>();

/** Runs `fn` with `context` as the current tenant context. Internal: use `tenancy.run()`. */
export function enterContext<T>(context: TenantContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The full current context, if any. */
export function currentContext(): TenantContext | undefined {
  return storage.getStore();
}

/**
 * The tenant of the current async context (set by `tenancy.run()`, `withTenant()` or the
 * NestJS middleware), or `undefined` outside one.
 *
 * @example
 * ```ts
 * await tenancy.run('acme', async () => {
 *   currentTenant()?.slug; // 'acme'
 * });
 * ```
 */
export function currentTenant(): Tenant | undefined {
  return storage.getStore()?.tenant;
}
