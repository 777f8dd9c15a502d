import { afterAll, inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';
import { createTenancy, type Tenancy, type TenancyOptions } from '@tenantry/core';

export interface Harness {
  readonly db: TestDatabase;
  /** A superuser client on the test database, for looking behind Tenantry's back. */
  readonly admin: pg.Client;
  /** A tenancy on the test database; closed after the file. */
  tenancy(options: Partial<TenancyOptions>): Promise<Tenancy>;
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
    async tenancy(options) {
      const t = await createTenancy({ registryUrl: db.url, ...options });
      opened.push(t);
      return t;
    },
  };
}

/** The error code of `err` or of what it wraps. */
export function codeOf(err: unknown): string | undefined {
  for (let e = err, i = 0; e !== null && typeof e === 'object' && i < 5; i++) {
    if (typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
    e = (e as { driverError?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}
