import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';
import { createTenancy, type Tenancy, type TenancyOptions } from '../src/index.js';

export const MIGRATIONS = fileURLToPath(new URL('./fixtures/migrations', import.meta.url));
export const FAILING_MIGRATIONS = fileURLToPath(new URL('./fixtures/failing-migrations', import.meta.url));

export interface Harness {
  readonly db: TestDatabase;
  /** A superuser client on the test database, for looking behind Tenantry's back. */
  readonly admin: pg.Client;
  /** Creates a Tenancy on the test database; closed after the file. */
  tenancy(options?: Partial<TenancyOptions>): Promise<Tenancy>;
}

/** One database per test file, cloned from the template; everything closed after the file. */
export async function setupHarness(): Promise<Harness> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const admin = new pg.Client({ connectionString: db.url, application_name: 'test-admin' });
  await admin.connect();
  const opened: Tenancy[] = [];
  afterAll(async () => {
    for (const t of opened) await t.close();
    await admin.end();
    await db.drop();
  });
  return {
    db,
    admin,
    async tenancy(options = {}) {
      const t = await createTenancy({ registryUrl: db.url, migrations: MIGRATIONS, ...options });
      opened.push(t);
      return t;
    },
  };
}

/** Connections Tenantry's pools hold open on the test database (not the listener). */
export async function pooledConnections(admin: pg.Client, database: string, applicationName = 'tenantry'): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2',
    [database, applicationName],
  );
  return rows[0]!.n;
}
