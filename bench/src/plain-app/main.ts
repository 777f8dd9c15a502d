/**
 * The plain NestJS app of `bench:http`: `GET /posts/:id` with the reference API's query on ONE
 * schema, no tenancy, no auth, same platform (express) and pool size as the API. Started by
 * bench/dist/http.js as a child process.
 *
 * With PLAIN_TENANCY_REGISTRY_URL it runs in tenancy mode (the `tenancy` row): the same app
 * and controller with `@tenantry/nestjs` on that registry, the tenant from `x-tenant-id`, each
 * query in the tenant's schema; DATABASE_URL and PLAIN_SCHEMA are then not used.
 * PLAIN_TENANCY_CONTEXT_INTERCEPTOR=0 sets the module's `contextInterceptor: false` (the
 * `tenancy-lean` row).
 *
 * Environment: DATABASE_URL, PLAIN_SCHEMA (default `bench_plain`), PLAIN_TENANCY_REGISTRY_URL,
 * PLAIN_POOL_MAX (default 10), PLAIN_APPLICATION_NAME (default `bench:plain`), PORT (default 0:
 * any). Prints `listening on <url>` when it serves.
 *
 * With PLAIN_JWT_SECRET (base64) it runs in full mode (the `plain-full` row): plain mode plus the
 * reference API's per-request work other than tenancy — its JWT guard (apps/api's TokenService),
 * its request logging with its metrics and request context (apps/api's middleware, pino at
 * LOG_LEVEL, default `silent` as the bench runs the API), its global pipes (StorableTextPipe,
 * ValidationPipe) and the route's params validated as the API's `PostParams` DTO.
 *
 * Platform costs, in plain mode (the `plain-als…` rows; they name what any NestJS app that keeps a
 * per-request AsyncLocalStorage context pays, Tenantry or not):
 * - PLAIN_ALS=1: one `AsyncLocalStorage.run(store, next)` per request, in a middleware that every
 *   route goes through (as `TenancyMiddleware` is mounted). From the first `run`, Node 20+
 *   tracks the context through every promise of the process (Nest's, express's, pg's).
 * - PLAIN_INTERCEPTOR=1: a global no-op interceptor (`next.handle()`), which puts every route on
 *   Nest's RxJS interceptor path (without interceptors Nest calls the handler directly).
 *
 * PLAIN_HOMES=0 (tenancy mode): `pool.homeConnections: false`.
 *
 * PLAIN_ROUTED=1 (the `plain-routed` row): DATABASE_URL is the tenancy row's registry database;
 * the app reads its ACTIVE schema tenants (schema and role) once at start, and each request sends
 * Tenantry's batch — the session reset, `search_path` and role, the query; one Sync — for the
 * tenant `x-tenant-id` names, on a bare `pg.Pool` (bench/src/raw-batch.ts). No tenancy library,
 * no per-request context, no guard: the PostgreSQL work of routing, with the least Node around it.
 *
 * PLAIN_POOL_IDLE_MS: how long the app's pool keeps an idle connection (default one hour, so a
 * row's backends, warm for its tenants, survive the other rows' rounds).
 */
import 'reflect-metadata';
import type { DynamicModule } from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { NestFactory } from '@nestjs/core';
import { quoteIdent } from '@tenantry/core';
import { validationExceptionFactory } from '@tenantry/nestjs';
import { createLogger, PinoNestLogger } from '@tenantry/api/dist/logging/pino-logger.js';
import { enterRequestContext } from '@tenantry/api/dist/logging/request-context.js';
import { requestLogger } from '@tenantry/api/dist/logging/request-logger.js';
import { ApiMetrics } from '@tenantry/api/dist/metrics/api-metrics.js';
import { StorableTextPipe } from '@tenantry/api/dist/storable-text.pipe.js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import pg from 'pg';
import { PlainModule } from './plain.module.js';
import { tokenService } from './tokens.js';
import { rawBatch } from '../raw-batch.js';
import type { RoutedDb } from './posts.controller.js';

const IDLE_MS = Number(process.env['PLAIN_POOL_IDLE_MS'] ?? '3600000');

function databaseUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (url === undefined || url === '') throw new Error('DATABASE_URL is required');
  return url;
}

function plainPool(max: number, applicationName: string): pg.Pool {
  const schema = process.env['PLAIN_SCHEMA'] ?? 'bench_plain';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema))
    throw new Error(`PLAIN_SCHEMA must be a plain lower-case identifier, got ${JSON.stringify(schema)}`);
  // search_path as a startup option, so the query text is the API's, unqualified.
  return new pg.Pool({
    connectionString: databaseUrl(),
    max,
    application_name: applicationName,
    idleTimeoutMillis: IDLE_MS,
    options: `-c search_path=${schema}`,
  });
}

/** The `plain-routed` row's pool and its batch per tenant (read once from the registry). */
async function routedDb(max: number, applicationName: string): Promise<{ pool: pg.Pool; db: RoutedDb }> {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max, application_name: applicationName, idleTimeoutMillis: IDLE_MS });
  const { rows } = await pool.query<{ id: string; physical_name: string; role: string | null }>(
    "select id::text, physical_name, role from tenantry.tenants where status = 'ACTIVE' and isolation = 'schema'",
  );
  const routes = new Map(rows.map((r) => [r.id, { searchPath: `${quoteIdent(r.physical_name)}, pg_temp`, role: r.role, readOnly: true }]));
  const batch = await rawBatch(pool);
  return {
    pool,
    db: {
      query: (tenant, text, values) => {
        const route = routes.get(tenant);
        return route === undefined ? undefined : batch(route, text, values);
      },
    },
  };
}

async function main(): Promise<void> {
  const max = Number(process.env['PLAIN_POOL_MAX'] ?? '10');
  const applicationName = process.env['PLAIN_APPLICATION_NAME'] || 'bench:plain';
  const registryUrl = process.env['PLAIN_TENANCY_REGISTRY_URL'];
  const jwtSecret = process.env['PLAIN_JWT_SECRET'];
  const full = jwtSecret !== undefined && jwtSecret !== '';
  const logger = full ? createLogger(process.env['LOG_LEVEL'] || 'silent') : undefined;
  const routed = process.env['PLAIN_ROUTED'] === '1' ? await routedDb(max, applicationName) : undefined;
  const root: DynamicModule = routed
    ? PlainModule.routed(routed.pool, routed.db)
    : registryUrl
      ? PlainModule.withTenancy({
          registryUrl,
          poolMax: max,
          idleTimeoutMillis: IDLE_MS,
          applicationName,
          contextInterceptor: process.env['PLAIN_TENANCY_CONTEXT_INTERCEPTOR'] !== '0',
        })
      : full
        ? PlainModule.full(plainPool(max, applicationName), tokenService(Buffer.from(jwtSecret, 'base64')))
        : PlainModule.register(plainPool(max, applicationName), { interceptor: process.env['PLAIN_INTERCEPTOR'] === '1' });
  const app = await NestFactory.create<NestExpressApplication>(root, {
    logger: logger === undefined ? ['error', 'warn'] : new PinoNestLogger(logger.child({ component: 'nest' })),
  });
  app.disable('x-powered-by');
  if (process.env['PLAIN_ALS'] === '1') {
    // What TenancyMiddleware does to the async context, and nothing else: a store per request.
    const storage = new AsyncLocalStorage<{ readonly url: string | undefined }>();
    app.use((req: { url?: string }, _res: unknown, next: () => void) => storage.run({ url: req.url }, next));
  }
  if (logger !== undefined) {
    // In apps/api's order (app-factory.ts): the request log line first, the context after the body parser.
    // With the API's metrics (its request histogram and the default process metrics).
    app.use(requestLogger(logger, new ApiMetrics().observeRequest));
    app.use(enterRequestContext);
    app.useGlobalPipes(
      new StorableTextPipe(),
      new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        forbidUnknownValues: true,
        stopAtFirstError: true,
        transform: true,
        exceptionFactory: validationExceptionFactory,
      }),
    );
  }
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
