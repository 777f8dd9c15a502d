/**
 * Where a job carries its tenant: one reserved key, `__tenantry`, in the job's data (an object).
 * Both backends store data as JSON, so the tenant travels with the job through the queue's own
 * storage — retries, delays, repeats and flows re-read the same data, so they cannot lose it.
 * The tenant is stored by its immutable id, never by slug (a rename must not re-route a job).
 */
import { invalidArgument } from '@tenantry/core';

/** The key of the job's data that holds its tenant. Reserved: do not write it yourself. */
export const TENANT_KEY = '__tenantry';

/** What {@link TENANT_KEY} holds. */
export interface TenantStamp {
  /** The tenant's immutable id. */
  readonly tenantId: string;
  /** Id of the first job of a chain of deferrals (a job of a suspended tenant re-sent later, pg-boss). */
  readonly origin?: string;
}

/** Job data as stored: the caller's object plus the stamp. */
export type Stamped<T> = T & { readonly [TENANT_KEY]?: TenantStamp };

/** `data` with the tenant's stamp (or unchanged when `stamp` is undefined: a tenant-free job). */
export function stamp<T extends object>(data: T, tenant: TenantStamp | undefined, queue: string): Stamped<T> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalidArgument(`job data of '${queue}' must be a plain object (the tenant travels in it under '${TENANT_KEY}')`);
  }
  if (TENANT_KEY in data) {
    // Re-sending a job's data as it came out of a handler keeps its tenant only if it is the same one.
    const { [TENANT_KEY]: _dropped, ...rest } = data as Record<string, unknown>;
    void _dropped;
    return (tenant === undefined ? rest : { ...rest, [TENANT_KEY]: tenant }) as Stamped<T>;
  }
  return (tenant === undefined ? data : { ...data, [TENANT_KEY]: tenant }) as Stamped<T>;
}

/** The stamp of stored job data, or undefined for a tenant-free job (or data from elsewhere). */
export function stampOf(data: unknown): TenantStamp | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const s = (data as Record<string, unknown>)[TENANT_KEY];
  if (s === null || typeof s !== 'object') return undefined;
  const tenantId = (s as { tenantId?: unknown }).tenantId;
  return typeof tenantId === 'string' ? (s as TenantStamp) : undefined;
}
