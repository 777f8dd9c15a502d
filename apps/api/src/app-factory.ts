import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DestinationStream, Logger } from 'pino';
import { validationExceptionFactory } from '@tenantry/nestjs';
import { AppModule } from './app.module.js';
import { StorableTextPipe } from './storable-text.pipe.js';
import { loadSecrets, type ApiSecrets } from './auth/secrets.js';
import type { ApiConfig } from './config.js';
import { createLogger, PinoNestLogger } from './logging/pino-logger.js';
import { enterRequestContext } from './logging/request-context.js';
import { requestLogger } from './logging/request-logger.js';
import { ApiMetrics } from './metrics/api-metrics.js';
import { createOpenApiDocument, serveOpenApi } from './openapi/openapi-document.js';
import { ApiStore } from './store/api-store.js';

/** What {@link createApiApp} needs. */
export interface ApiAppOptions {
  readonly config: ApiConfig;
  /** The registry database (`DATABASE_URL`, or the embedded server's). */
  readonly registryUrl: string;
  /**
   * Default: a pino logger at `config.logLevel` writing to `logDestination`. One of your own
   * gets `reqId` on the request lines only (`createLogger()` adds it to every line of a request).
   */
  readonly logger?: Logger;
  /** Where the default logger writes (default stdout), e.g. a stream that collects lines in tests. */
  readonly logDestination?: DestinationStream;
}

/** The application, not yet listening, and what the start-up banner needs. */
export interface ApiApp {
  readonly app: NestExpressApplication;
  readonly secrets: ApiSecrets;
  /** The Prometheus registry served at `/metrics`. */
  readonly metrics: ApiMetrics;
}

/**
 * Builds the reference service: opens the app schema, loads the secrets, creates the Nest
 * application with validation, the body limit, OpenAPI at `/docs`, pino logging (a line per
 * request, with its `x-request-id`) and Prometheus metrics at `/metrics`. Call
 * `app.listen(port)` to serve and `app.close()` to stop (closes every pool).
 */
export async function createApiApp(options: ApiAppOptions): Promise<ApiApp> {
  const { config, registryUrl } = options;
  const logger = options.logger ?? createLogger(config.logLevel, options.logDestination);
  const metrics = new ApiMetrics();
  const store = await ApiStore.open(registryUrl);
  let app: NestExpressApplication | undefined;
  try {
    const secrets = await loadSecrets(store, config);
    app = await NestFactory.create<NestExpressApplication>(AppModule.register({ config, registryUrl, logger, store, secrets, metrics }), {
      bodyParser: false,
      abortOnError: false,
      logger: new PinoNestLogger(logger.child({ component: 'nest' })),
    });
    app.disable('x-powered-by');
    // First, so that every request gets an id and a log line, whatever fails after.
    app.use(requestLogger(logger, metrics.observeRequest));
    // Larger bodies: 413 PAYLOAD_TOO_LARGE. Only JSON is parsed.
    app.useBodyParser('json', { limit: config.bodyLimit });
    // After the body parser, whose callbacks lose the async context that carries the request id.
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
    serveOpenApi(app, createOpenApiDocument(app));
    return { app, secrets, metrics };
  } catch (err) {
    if (app) await app.close().catch(() => undefined);
    else await store.close().catch(() => undefined);
    throw err;
  }
}
