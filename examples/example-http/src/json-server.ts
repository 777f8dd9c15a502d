/**
 * A small JSON-over-`node:http` router: routes with `:params`, JSON bodies, Tenantry's errors as
 * HTTP answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isTenantryError } from '@tenantry/core';

/** A JSON answer. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

/** An error that is an HTTP answer. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface Route {
  readonly method: string;
  /** `/posts/:id`-style path. */
  readonly path: string;
  readonly handle: (ctx: RouteContext) => Promise<Reply>;
}

const STATUS_OF: Readonly<Record<string, number>> = {
  TENANT_REQUIRED: 400,
  INVALID_TENANT_ID: 400,
  INVALID_ARGUMENT: 400,
  TENANT_NOT_FOUND: 404,
  TENANT_EXISTS: 409,
  TENANT_SUSPENDED: 403,
  TENANT_NOT_READY: 503,
  CONNECTION_BUDGET_EXHAUSTED: 503,
  SERVER_UNAVAILABLE: 503,
};

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_000_000) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(got[i]!);
    else if (w !== got[i]) return undefined;
  }
  return params;
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * A `node:http` server over `routes`; Tenantry's errors become 4xx/5xx answers with their code,
 * any other error a 500 (after `onError` sees it).
 *
 * @example
 * ```ts
 * const server = jsonServer([{ method: 'GET', path: '/hello/:name', handle: async ({ params }) => ({ status: 200, body: { hello: params['name'] } }) }]);
 * ```
 */
export function jsonServer(routes: readonly Route[], onError: (err: unknown) => void = () => undefined): Server {
  return createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
      let params: Record<string, string> | undefined;
      const route = routes.find((r) => r.method === req.method && (params = match(r.path, path)) !== undefined);
      try {
        if (route === undefined) throw new HttpError(404, `no route ${req.method} ${path}`);
        send(res, await route.handle({ req, params: params!, body: await readJson(req) }));
      } catch (err) {
        if (err instanceof HttpError) send(res, { status: err.status, body: { statusCode: err.status, message: err.message } });
        else if (isTenantryError(err) && STATUS_OF[err.code] !== undefined)
          send(res, { status: STATUS_OF[err.code]!, body: { statusCode: STATUS_OF[err.code], code: err.code, message: err.message } });
        else {
          onError(err);
          send(res, { status: 500, body: { statusCode: 500, message: 'internal error' } });
        }
      }
    })();
  });
}
