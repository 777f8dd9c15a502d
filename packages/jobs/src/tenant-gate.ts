/**
 * The one place where a job enters its tenant. Every backend (pg-boss, BullMQ, the Nest
 * wrappers) calls {@link TenantGate.enqueueStamp} when a job is sent and {@link TenantGate.admit}
 * when one runs, so the rules below hold the same everywhere:
 *
 * - enqueue: the tenant of the current context (or an explicit one) is stamped into the job by
 *   id; outside any context a job fails to enqueue (`TENANT_REQUIRED`) unless its queue is
 *   declared tenant-free.
 * - run, on every attempt: the tenant is resolved again from the registry (cached, invalidated
 *   across processes) and the handler runs inside `tenancy.run()` of that tenant. A SUSPENDED
 *   (or migrating, or not yet provisioned) tenant's job is deferred, not failed and not run; a
 *   DELETED tenant's job is discarded with a log line; an unknown tenant's job is rejected with
 *   the registry's error code, without retries.
 * - a tenant-free job runs outside any tenant context, even when the worker was started inside
 *   one (the classic leak of tenant-schemas-celery).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  currentTenant,
  ErrorCodes,
  isTenantryError,
  tenantRequired,
  TenantryError,
  type Logger,
  type Tenancy,
  type Tenant,
  type TenantStatus,
} from '@tenantry/core';
import { stampOf, type TenantStamp } from './job-envelope.js';

// Taken when this module is first loaded (no tenant context then): runs work outside any tenant.
const outsideAnyTenant = AsyncLocalStorage.snapshot();

/** Runs `fn` in the async context this module was loaded in: no tenant. */
export function outsideTenant<T>(fn: () => T): T {
  return outsideAnyTenant(fn);
}

/** How a job's run ended, as the gate sees it. Handler errors are thrown, not returned. */
export type Admission<T> =
  | { readonly kind: 'ran'; readonly value: T; readonly tenant: Tenant | undefined }
  /** The tenant is not routable for now (SUSPENDED, MIGRATING, …): run the job again after `delayMs`. */
  | { readonly kind: 'deferred'; readonly delayMs: number; readonly error: TenantryError }
  /** The tenant is DELETED (or being deleted): the job is dropped, with a log line. */
  | { readonly kind: 'discarded'; readonly status: TenantStatus }
  /** The tenant is unknown, or the job carries none: the job fails for good with `error.code`. */
  | { readonly kind: 'rejected'; readonly error: TenantryError };

/** Options of the gate, shared by both backends. */
export interface TenantGateOptions {
  /** Seconds a job of a SUSPENDED tenant waits before it is tried again. Default 60. */
  readonly deferSeconds?: number;
  /** Where the discard lines go. Default: the tenancy's logger is not reachable, so silent unless given. */
  readonly logger?: Logger;
}

/** Resolves the tenant of a job and runs its handler inside that tenant's context. */
export class TenantGate {
  readonly #tenancy: Tenancy;
  readonly #deferMs: number;
  readonly #logger: Logger | undefined;

  constructor(tenancy: Tenancy, options: TenantGateOptions = {}) {
    this.#tenancy = tenancy;
    const seconds = options.deferSeconds ?? 60;
    if (!(seconds > 0)) throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'deferSeconds must be a positive number');
    this.#deferMs = Math.round(seconds * 1000);
    this.#logger = options.logger;
  }

  /** The tenancy the gate routes to. */
  get tenancy(): Tenancy {
    return this.#tenancy;
  }

  /**
   * The stamp a job sent now to `queue` carries: the explicit `tenant` (id or slug, any live
   * status), else the current context's tenant. Undefined for a tenant-free queue. Throws
   * `TENANT_REQUIRED` outside a context for a queue that is not tenant-free.
   */
  async enqueueStamp(queue: string, tenantFree: boolean, tenant?: string | Tenant): Promise<TenantStamp | undefined> {
    if (tenantFree) return undefined;
    if (tenant !== undefined) {
      const found = await this.#tenancy.tenants.get(typeof tenant === 'string' ? tenant : tenant.id);
      if (found.status === 'DELETED' || found.status === 'DELETING') {
        throw new TenantryError(ErrorCodes.TENANT_NOT_FOUND, `tenant '${found.slug}' is ${found.status}: no job can be sent for it`, {
          context: { tenant: found.id },
        });
      }
      return { tenantId: found.id };
    }
    const inContext = currentTenant();
    if (inContext === undefined) {
      throw tenantRequired(
        `no tenant in the current context to send a '${queue}' job for: send it inside tenancy.run(tenant, fn) (or a tenant's request), ` +
          `pass { tenant }, or declare the queue tenant-free ({ tenantFree: true })`,
      );
    }
    return { tenantId: inContext.id };
  }

  /**
   * Runs `fn` for a job whose stored data is `data`: inside its tenant's context, or outside any
   * tenant for a tenant-free queue. Throws what `fn` throws (a handler failure: retry it);
   * returns how the tenant let the job through otherwise.
   */
  async admit<T>(
    job: { readonly queue: string; readonly id: string; readonly tenantFree: boolean; readonly data: unknown },
    fn: (tenant: Tenant | undefined) => Promise<T>,
  ): Promise<Admission<T>> {
    const s = stampOf(job.data);
    if (job.tenantFree && s === undefined) {
      const value = await outsideTenant(async () => {
        if (currentTenant() !== undefined) {
          throw new TenantryError(ErrorCodes.INTERNAL, '@tenantry/jobs was first imported inside a tenant context; import it at start-up');
        }
        return await fn(undefined);
      });
      return { kind: 'ran', value, tenant: undefined };
    }
    if (s === undefined) {
      return {
        kind: 'rejected',
        error: tenantRequired(`a '${job.queue}' job (${job.id}) carries no tenant; send it with @tenantry/jobs inside a tenant context`),
      };
    }
    let started = false;
    let tenant: Tenant | undefined;
    try {
      const value = await this.#tenancy.run(s.tenantId, async () => {
        started = true;
        tenant = currentTenant();
        return await fn(tenant);
      });
      return { kind: 'ran', value, tenant };
    } catch (err) {
      if (started || !isTenantryError(err)) throw err;
      return await this.#refused(job, s.tenantId, err);
    }
  }

  /** Why the registry refused the tenant, as an admission. */
  async #refused(job: { readonly queue: string; readonly id: string }, tenantId: string, err: TenantryError): Promise<Admission<never>> {
    switch (err.code) {
      case ErrorCodes.TENANT_SUSPENDED:
      case ErrorCodes.TENANT_MIGRATION_FAILED:
        return { kind: 'deferred', delayMs: this.#deferMs, error: err };
      case ErrorCodes.TENANT_NOT_READY: {
        const after = err.context.retryAfterSeconds;
        return { kind: 'deferred', delayMs: after === undefined ? this.#deferMs : after * 1000, error: err };
      }
      case ErrorCodes.TENANT_NOT_FOUND: {
        // By id, the registry still finds DELETED tenants: tell a deleted tenant from one that never was.
        const row = await this.#tenancy.tenants.get(tenantId).catch(() => undefined);
        if (row !== undefined && (row.status === 'DELETED' || row.status === 'DELETING')) {
          this.#logger?.warn(
            { queue: job.queue, job: job.id, tenant: tenantId, slug: row.slug, status: row.status },
            `job discarded: its tenant is ${row.status}`,
          );
          return { kind: 'discarded', status: row.status };
        }
        return { kind: 'rejected', error: err };
      }
      case ErrorCodes.SERVER_UNAVAILABLE:
      case ErrorCodes.CONNECTION_BUDGET_EXHAUSTED:
      case ErrorCodes.TENANCY_CLOSED:
        throw err; // transient or shutting down: an ordinary failure, retried
      default:
        return { kind: 'rejected', error: err };
    }
  }
}
