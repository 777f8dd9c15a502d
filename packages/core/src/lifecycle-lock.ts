/**
 * The lifecycle lock: while a process provisions or deletes a tenant (or `reconcile()` settles
 * one) it holds a transaction-level advisory lock on the tenant's id in the registry database,
 * so that `reconcile()` in another process never finishes or undoes work still under way.
 *
 * Such an operation holds the lock's connection while it needs one more for its own work, so at
 * most `pool.max - 1` of them run at once (the slots): they can never all hold one connection
 * and wait for another.
 */
import type pg from 'pg';
import type { ConnectionRouter } from './connection-router.js';
import { invalidArgument } from './errors.js';
import { Semaphore } from './fan-out.js';
import type { Queryable } from './registry/tenant-registry.js';
import { runBatch, type BatchStatement } from './statement-batch.js';
import { inOpenedTransaction, inTransaction } from './transaction.js';
import type { Tenant } from './types.js';

/** The advisory lock a process holds (in the registry database) while it provisions or deletes a tenant. */
export function lifecycleLockKey(tenantId: string): string {
  return `tenantry.lifecycle:${tenantId}`;
}

/** Holds tenants' lifecycle locks, at most `pool.max - 1` at once. */
export class LifecycleLock {
  readonly #router: ConnectionRouter;
  readonly #registryServer: string;
  readonly #slots: Semaphore;

  constructor(router: ConnectionRouter, registryServer: string) {
    this.#router = router;
    this.#registryServer = registryServer;
    this.#slots = new Semaphore(router.capacity - 1);
  }

  /** Runs `fn` as one of the lifecycle operations allowed at once. */
  async slot<T>(fn: () => Promise<T>): Promise<T> {
    return await this.#slots.run(fn);
  }

  /**
   * Fails with the reason when an operation on `tenant` would need two connections to the
   * registry's server at once (its lock and its work) but the budget is one.
   */
  assertRoom(tenant: Tenant, what: string): void {
    if (tenant.server === this.#registryServer && this.#router.capacity < 2) {
      throw invalidArgument(
        `${what} '${tenant.slug}' needs two connections to the registry's server at once (the tenant's lifecycle lock and its work) but pool.max is ${this.#router.capacity}; raise pool.max to at least 2`,
        { context: { tenant: tenant.slug } },
      );
    }
  }

  /**
   * Runs `fn` holding `tenant`'s lifecycle lock. With `inOwnTransaction` (a container created
   * in the registry's database, in one transaction with its registry rows) `fn` takes the lock
   * itself, inside that transaction: it gets the key. Otherwise the lock is held in a
   * transaction on a registry connection for the duration, which `fn` gets as `lockDb` for its
   * registry writes: they commit with the lock, or roll back with it when `fn` fails. `first`,
   * a statement sent in the same round trip as `BEGIN` and the lock (e.g. re-reading the
   * tenant's row under the lock), gives `fn` its result.
   */
  async hold<T>(
    tenant: Tenant,
    inOwnTransaction: boolean,
    fn: (lockInTransaction: string | undefined, lockDb: Queryable | undefined, first: pg.QueryResult | undefined) => Promise<T>,
    first?: BatchStatement,
  ): Promise<T> {
    const key = lifecycleLockKey(tenant.id);
    if (inOwnTransaction) return await fn(key, undefined, undefined);
    this.assertRoom(tenant, 'the lifecycle of tenant');
    return await this.#slots.run(async () => {
      const client = await this.#router.adminSync(this.#registryServer).connect();
      return await inOpenedTransaction(client, async () => {
        // BEGIN, the lock and the caller's first read in one round trip.
        const results = await runBatch(client, [
          { text: 'begin' },
          { text: 'select pg_advisory_xact_lock(hashtextextended($1, 0))', values: [key] },
          ...(first === undefined ? [] : [first]),
        ]);
        return await fn(undefined, client, results[2]);
      });
    });
  }

  /**
   * Like {@link LifecycleLock.hold} for `reconcile()`, which must not wait for a lock another
   * process holds: `fn` runs only when the lock was free, and gets the registry connection
   * holding it. Returns `{ skipped: true }` when another process holds it.
   */
  async tryHold<T>(tenant: Tenant, fn: (lockDb: Queryable) => Promise<T>): Promise<{ skipped: true } | { skipped: false; value: T }> {
    this.assertRoom(tenant, 'settling tenant');
    return await this.#slots.run(() =>
      inTransaction(
        () => this.#router.adminSync(this.#registryServer).connect(),
        async (client): Promise<{ skipped: true } | { skipped: false; value: T }> => {
          const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as ok', [
            lifecycleLockKey(tenant.id),
          ]);
          if (!rows[0]?.ok) return { skipped: true };
          return { skipped: false, value: await fn(client) };
        },
      ),
    );
  }
}
