/**
 * The one way Tenantry runs a transaction on a connection it checks out (as graphile-worker's
 * `withPgClient` owns check-out and release): check out, `BEGIN`, optionally take a
 * transaction-level advisory lock, optionally enter a tenant, run, `COMMIT` — or `ROLLBACK` when
 * anything failed — and give the connection back.
 *
 * A connection whose `ROLLBACK` (or `COMMIT`) failed is in an unknown state: it may still be
 * inside the transaction, holding its locks and its tenant's settings. It is destroyed, never
 * handed out again. Units of work do not come through here: their transactions travel inside
 * the statement batches of `unit-of-work.ts`.
 */
import type { ConnectionRouter } from './connection-router.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import type { PooledClient } from './server-pool.js';
import type { Tenant } from './types.js';

/** What {@link inTransaction} does around the callback. */
export interface TransactionOptions {
  /**
   * Key of a transaction-level advisory lock, `pg_advisory_xact_lock(hashtextextended(key, 0))`,
   * taken right after `BEGIN` and held until the transaction ends. It stays on one server
   * connection even behind PgBouncer in transaction mode.
   */
  readonly lock?: string;
  /** Points the connection at a tenant after `BEGIN` (and the lock), e.g. `strategy.enter`. */
  readonly enter?: (client: PooledClient) => Promise<void>;
}

/**
 * Runs `fn` in one transaction on a connection from `connect`, then releases it: pooled again
 * after `COMMIT` or a clean `ROLLBACK`, destroyed when ending the transaction failed.
 *
 * @example
 * ```ts
 * const ids = await inTransaction(() => router.connect({ server: 'default' }), async (client) => {
 *   await client.query('update tenantry.servers set draining = true where id = $1', ['eu-2']);
 *   return (await client.query('select id from tenantry.servers')).rows;
 * }, { lock: 'tenantry.servers' });
 * ```
 */
export async function inTransaction<T>(
  connect: () => Promise<PooledClient>,
  fn: (client: PooledClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await connect();
  return await inOpenedTransaction(client, async () => {
    await client.query('begin');
    if (options.lock !== undefined) await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [options.lock]);
    if (options.enter !== undefined) await options.enter(client);
    return await fn(client);
  });
}

/**
 * Runs `fn`, which opens a transaction on `client` (its first statement is `BEGIN`, alone or in
 * a batch), then `COMMIT`s — or `ROLLBACK`s when `fn` fails — and releases `client`: pooled
 * again after a clean end, destroyed when ending the transaction failed. {@link inTransaction}
 * is this with a plain `BEGIN`; the provisioning steps that batch `BEGIN` with their first
 * statements use it directly.
 *
 * With `fnCommits`, `fn` sends `COMMIT` itself, as the last statement of its last batch (one
 * round trip less); none is sent after it. When that batch fails before its `COMMIT` ran, the
 * transaction is aborted and `fn` fails: it is rolled back as usual.
 */
export async function inOpenedTransaction<T>(
  client: PooledClient,
  fn: () => Promise<T>,
  options: { fnCommits?: boolean } = {},
): Promise<T> {
  let broken: Error | undefined;
  try {
    const value = await fn();
    if (options.fnCommits !== true) await client.query('commit');
    return value;
  } catch (err) {
    await client.query('rollback').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw err;
  } finally {
    client.release(broken ?? false);
  }
}

/**
 * Administrative work inside one tenant (migrations, seeds): {@link inTransaction} on a
 * connection to the tenant's server (and database), pointed at the tenant after `BEGIN`.
 * Unlike a unit of work, multi-statement SQL scripts are allowed here (simple query protocol).
 */
export async function inTenantTransaction<T>(
  router: ConnectionRouter,
  strategy: IsolationStrategy,
  tenant: Tenant,
  fn: (client: PooledClient) => Promise<T>,
  lock?: string,
): Promise<T> {
  return await inTransaction(() => router.connect(strategy.target(tenant, false)), fn, {
    enter: (client) => strategy.enter(client, tenant),
    ...(lock === undefined ? {} : { lock }),
  });
}
