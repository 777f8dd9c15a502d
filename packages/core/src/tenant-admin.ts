import type pg from 'pg';
import type { ConnectionRouter } from './connection-router.js';
import type { IsolationStrategy } from './isolation-strategy.js';
import type { Tenant } from './types.js';

/**
 * Administrative work inside one tenant (migrations, seeds): one transaction on a pooled
 * connection pointed at the tenant, optionally under an advisory lock. Unlike a unit of work,
 * multi-statement SQL scripts are allowed here (simple query protocol).
 */
export async function inTenantTransaction<T>(
  router: ConnectionRouter,
  strategy: IsolationStrategy,
  tenant: Tenant,
  fn: (client: pg.PoolClient) => Promise<T>,
  lock?: string,
): Promise<T> {
  const client = await router.connect(strategy.target(tenant, false));
  let destroy: Error | undefined;
  try {
    await client.query('begin');
    if (lock !== undefined) await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [lock]);
    await strategy.enter(client, tenant);
    const value = await fn(client);
    await client.query('commit');
    return value;
  } catch (err) {
    await client.query('rollback').catch((e: unknown) => {
      destroy = e as Error;
    });
    throw err;
  } finally {
    router.release(client, destroy);
  }
}
