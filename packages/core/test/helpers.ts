import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { setupTenancyHarness, type TenancyHarness } from '@tenantry/testing/harness';
import { createTenancy, isTenantryError, type Tenancy, type TenancyOptions } from '../src/index.js';

export const MIGRATIONS = fileURLToPath(new URL('./fixtures/migrations', import.meta.url));
export const FAILING_MIGRATIONS = fileURLToPath(new URL('./fixtures/failing-migrations', import.meta.url));

export type Harness = TenancyHarness<Tenancy, TenancyOptions>;

/** One database per test file, cloned from the template; everything closed after the file. */
export function setupHarness(): Promise<Harness> {
  return setupTenancyHarness(createTenancy, { migrations: MIGRATIONS });
}

/** Connections Tenantry's pools hold open on the test database (not the listener). */
export async function pooledConnections(admin: pg.Client, database: string, applicationName = 'tenantry'): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2',
    [database, applicationName],
  );
  return rows[0]!.n;
}

/**
 * Queries on the test database as Tenantry's login role (the application role — not the
 * superuser `h.admin` is): each query on a connection of its own.
 */
export function runtimeClient(h: Harness): { query<R extends object>(text: string): Promise<{ rows: R[] }> } {
  return {
    async query<R extends object>(text: string) {
      const client = new pg.Client({ connectionString: h.db.url, application_name: 'test-runtime' });
      await client.connect();
      try {
        return { rows: (await client.query(text)).rows as R[] };
      } finally {
        await client.end();
      }
    },
  };
}

/** The error code `fn` throws (fails the test when it does not throw, or throws something else than a TenantryError). */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (isTenantryError(err)) return err.code;
    throw err;
  }
  throw new Error('expected an error');
}
