import type { Logger } from 'pino';
import { requestTenancy } from '@tenantry/nestjs';
import { assignRequestId } from './request-context.js';

/** A request as it ended, for metrics. */
export interface FinishedRequest {
  readonly method: string;
  /** The route pattern (`/posts/:id`), or undefined when no route matched. */
  readonly route: string | undefined;
  readonly status: number;
  readonly durationMs: number;
}

interface Req {
  method?: string;
  originalUrl?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  route?: { path?: unknown };
}
interface Res {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  on(event: 'finish' | 'close', fn: () => void): void;
}

/**
 * The route Nest mounts its middleware on (TenancyMiddleware's `forRoutes('{*path}')`): Express
 * leaves it as `req.route` when no handler matched.
 */
const MIDDLEWARE_ROUTE = '/{*path}';

/** Probes and scrapes: logged at debug, or every few seconds would bring a line. */
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics']);

/**
 * Express middleware, mounted first: gives each request its id (`x-request-id`, echoed) and,
 * when the response is sent, writes one JSON line — `reqId`, `tenant` (id) and `tenantSlug`
 * when a tenant was resolved, `method`, `route`, `path` (no query string: it may carry
 * secrets), `status`, `durationMs` — and reports it to `onFinish` (metrics). Never headers,
 * tokens or bodies. A request the client abandoned before the answer is logged with
 * `aborted: true` and the status set so far.
 */
export function requestLogger(
  logger: Logger,
  onFinish?: (request: FinishedRequest) => void,
): (req: Req, res: Res, next: () => void) => void {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const reqId = assignRequestId(req, res);
    let done = false;
    const end = (aborted: boolean): void => {
      if (done) return;
      done = true;
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      const matched = req.route?.path;
      const route = typeof matched === 'string' && matched !== MIDDLEWARE_ROUTE ? matched : undefined;
      const method = req.method ?? 'GET';
      const tenant = requestTenancy(req)?.tenant;
      const line = {
        reqId,
        ...(tenant === undefined ? {} : { tenant: tenant.id, tenantSlug: tenant.slug }),
        method,
        route: route ?? null,
        path: (req.originalUrl ?? req.url ?? '').split('?')[0],
        status: res.statusCode,
        durationMs,
        ...(aborted ? { aborted: true } : {}),
      };
      if (res.statusCode >= 500) logger.error(line, 'request');
      else if (route !== undefined && QUIET_ROUTES.has(route)) logger.debug(line, 'request');
      else logger.info(line, 'request');
      onFinish?.({ method, route, status: res.statusCode, durationMs });
    };
    res.on('finish', () => end(false));
    res.on('close', () => end(true));
    next();
  };
}
