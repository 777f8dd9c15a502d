import type {} from './global-setup.js';
import { afterAll, inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** What a test file gets from {@link setupTenancyHarness}. */
export interface TenancyHarness<T, O> {
  /** The file's own database, cloned from the template. */
  readonly db: TestDatabase;
  /**
   * A superuser client on the test database, for looking behind Tenantry's back. Tenancies never
   * use it: they run as the application role ({@link TestDatabase.url}), which is not a superuser.
   */
  readonly admin: pg.Client;
  /** Superuser URL of the test database, for the tests that need one explicitly. */
  readonly adminUrl: string;
  /** Creates a tenancy on the test database (defaults, then `options`); closed after the file. */
  tenancy(options?: Partial<O>): Promise<T>;
}

/**
 * One database per test file, cloned from the template, an admin (superuser) client on it, and tenancies
 * that run as the application role (not a superuser): tenancies
 * that are all closed (and the database dropped) after the file. Call it at the top level of
 * a vitest file that runs under `@tenantry/testing/global-setup`.
 *
 * @example
 * ```ts
 * import { createTenancy } from '@tenantry/core';
 * const h = await setupTenancyHarness(createTenancy, { migrations: './migrations' });
 * it('…', async () => { const tenancy = await h.tenancy(); … });
 * ```
 */
export async function setupTenancyHarness<T extends { close(): Promise<void> }, O extends { registryUrl: string }>(
  create: (options: O) => Promise<T>,
  defaults: Partial<O> = {},
): Promise<TenancyHarness<T, O>> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const adminUrl = db.urlFor(db.name, inject('tenantryAdminUrl'));
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'test-admin' });
  await admin.connect();
  const opened: T[] = [];
  afterAll(async () => {
    for (const t of opened) await t.close();
    await admin.end();
    await db.drop();
  });
  return {
    db,
    admin,
    adminUrl,
    async tenancy(options = {}) {
      const t = await create({ ...defaults, ...options, registryUrl: db.url } as O);
      opened.push(t);
      return t;
    },
  };
}

/**
 * The error code of `err` or of what it wraps (`driverError` — TypeORM's — or `cause`, up to
 * five levels): a SQLSTATE or a Tenantry code, whichever layer an ORM surfaced.
 */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, i = 0; e !== null && typeof e === 'object' && i < 5; i++) {
    if (typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
    e = (e as { driverError?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}
