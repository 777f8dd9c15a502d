import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The header a request id comes in and goes back out in. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A request id a caller may choose: a short token, nothing that could forge a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const REQUEST_ID = Symbol.for('tenantry:api:request-id');
const storage = new AsyncLocalStorage<{ readonly requestId: string }>();

interface IdRequest {
  headers: Record<string, string | string[] | undefined>;
  [REQUEST_ID]?: string;
}
interface IdResponse {
  setHeader(name: string, value: string): unknown;
}

/**
 * Gives the request its id — the incoming `x-request-id` when it is a sane token (letters,
 * digits, `.`, `_`, `:`, `-`, at most 128), else a new uuid — and echoes it in the response.
 */
export function assignRequestId(req: IdRequest, res: IdResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  Object.defineProperty(req, REQUEST_ID, { value: id, enumerable: false });
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The id {@link assignRequestId} gave the request. */
export function requestIdOf(req: object): string | undefined {
  return (req as IdRequest)[REQUEST_ID];
}

/** The id of the request being served, in its async context (undefined outside a request). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/**
 * Express middleware: runs the rest of the request in a context that carries its id, so that
 * every log line written meanwhile (Tenantry's provisioning lines included) has `reqId`. Mount
 * it after the body parser, whose callbacks lose the async context.
 */
export function enterRequestContext(req: object, _res: unknown, next: () => void): void {
  const requestId = requestIdOf(req);
  if (requestId === undefined) return next();
  storage.run({ requestId }, next);
}
