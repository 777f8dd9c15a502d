import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The name of the template every test database is cloned from. */
export const TEMPLATE_DATABASE = 'tenantry_test_template';

/** A database of its own for one test file. */
export interface TestDatabase {
  /** Connection URL of the new database. */
  readonly url: string;
  /** Its name. */
  readonly name: string;
  /**
   * URL of another database on the same server (e.g. `postgres`), as the same role — or as the
   * user of `asUrl` (e.g. `inject('tenantryAdminUrl')` for a superuser).
   */
  urlFor(database: string, asUrl?: string): string;
  /** Drops the database, terminating whatever is still connected. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'tenantry-testing' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the template database (idempotent). Nobody stays connected to it, so
 * `CREATE DATABASE … TEMPLATE` can clone it at any time.
 */
export async function ensureTemplate(serverUrl: string, setupSql?: string): Promise<void> {
  await withAdmin(serverUrl, async (c) => {
    const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [TEMPLATE_DATABASE]);
    if (rowCount === 0) {
      try {
        await c.query(`create database ${TEMPLATE_DATABASE}`);
      } catch (err) {
        if ((err as { code?: string }).code !== '42P04') throw err; // created by a racing process
      }
    }
  });
  if (setupSql) {
    const client = new pg.Client({ connectionString: withDatabase(serverUrl, TEMPLATE_DATABASE) });
    await client.connect();
    try {
      await client.query(setupSql);
    } finally {
      await client.end();
    }
  }
}

/**
 * Clones the template into a fresh database for one test file, so files run in parallel
 * without seeing each other's tenants.
 *
 * @param serverUrl - a URL of the server whose user may create databases (from
 *   `inject('tenantryServerUrl')` in vitest: the application role, which then owns the database).
 * @example
 * ```ts
 * const db = await createTestDatabase(inject('tenantryServerUrl'));
 * afterAll(() => db.drop());
 * ```
 */
export async function createTestDatabase(serverUrl: string, prefix = 'test'): Promise<TestDatabase> {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(prefix)) throw new Error(`invalid test database prefix '${prefix}'`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin(serverUrl, async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`create database ${name} template ${TEMPLATE_DATABASE}`);
        return;
      } catch (err) {
        // 55006: "source database is being accessed by other users" — a racing clone.
        if ((err as { code?: string }).code !== '55006' || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 50));
      }
    }
  });
  return {
    url: withDatabase(serverUrl, name),
    name,
    urlFor: (database: string, asUrl?: string) => withDatabase(asUrl ?? serverUrl, database),
    async drop() {
      await withAdmin(serverUrl, async (c) => {
        await c.query(`drop database if exists ${name} with (force)`);
      });
    },
  };
}
