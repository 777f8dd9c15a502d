/**
 * The plain NestJS app of `bench:http`: `GET /posts/:id` with the reference API's query on ONE
 * schema, no tenancy, no auth, same platform (express) and pool size as the API. Started by
 * bench/dist/http.js as a child process.
 *
 * Environment: DATABASE_URL, PLAIN_SCHEMA (default `bench_plain`), PLAIN_POOL_MAX (default 10),
 * PORT (default 0: any). Prints `listening on <url>` when it serves.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import pg from 'pg';
import { PlainModule } from './plain.module.js';

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'];
  if (url === undefined || url === '') throw new Error('DATABASE_URL is required');
  const schema = process.env['PLAIN_SCHEMA'] ?? 'bench_plain';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`PLAIN_SCHEMA must be a plain lower-case identifier, got ${JSON.stringify(schema)}`);
  const max = Number(process.env['PLAIN_POOL_MAX'] ?? '10');
  // search_path as a startup option, so the query text is the API's, unqualified.
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'bench:plain', options: `-c search_path=${schema}` });
  const app = await NestFactory.create<NestExpressApplication>(PlainModule.register(pool), { logger: ['error', 'warn'] });
  app.disable('x-powered-by');
  await app.listen(Number(process.env['PORT'] ?? '0'), '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await app.close().catch((err: unknown) => process.stderr.write(`close failed: ${String(err)}\n`));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`plain app failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
