import type { Tenant } from '@tenantry/core';

/** What a handler receives: the job's data (without the tenant stamp) and where it runs. */
export interface JobContext<T> {
  /** The job's id in its backend (pg-boss: the id of this copy; see `originId`). */
  readonly id: string;
  /** pg-boss: the id the job was first sent with, stable across deferrals. BullMQ: same as `id`. */
  readonly originId: string;
  readonly queue: string;
  /** The job's data as it was sent. */
  readonly data: T;
  /** The job's tenant (also `currentTenant()` inside the handler); undefined for a tenant-free queue. */
  readonly tenant: Tenant | undefined;
  /** 0 on the first attempt, then 1, 2, … on retries. */
  readonly attempt: number;
  /** Aborted when the backend gives up on the job (expiry, shutdown), where it says so. */
  readonly signal: AbortSignal | undefined;
}

/**
 * A job handler. It runs inside `tenancy.run()` of the job's tenant; what it throws is retried.
 * `raw` is the backend's own job object (pg-boss's job, BullMQ's `Job`).
 */
export type JobHandler<T, R = unknown, Raw = unknown> = (job: JobContext<T>, raw: Raw) => Promise<R>;

/** Options every queue takes. */
export interface TenantQueueFlags {
  /**
   * Jobs of this queue carry no tenant: they are sent from anywhere and run outside any tenant
   * context. Without it, sending outside a tenant context fails with `TENANT_REQUIRED`.
   */
  readonly tenantFree?: boolean;
}

/** What is stored when a job fails: its message and, for Tenantry errors, its code. */
export function errorOutput(err: unknown): { message: string; code?: string; name?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, name: err.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(err) };
}
