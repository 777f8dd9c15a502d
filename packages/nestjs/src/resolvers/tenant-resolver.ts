import type { Tenancy, Tenant } from '@tenantry/core';

/**
 * The parts of an HTTP request the resolvers read. Express's and Fastify's requests both fit;
 * Tenantry does not depend on either.
 */
export interface TenancyRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Path and query as routed. The path resolver may rewrite it (`/t/acme/posts` → `/posts`). */
  url?: string;
  /** Path and query as received (Express). */
  readonly originalUrl?: string;
  /** Host name without port, as the framework computed it (honours Express `trust proxy`). */
  readonly hostname?: string;
}

/** What a resolver returns: a tenant id or slug, a tenant, or nothing (the next resolver is tried). */
export type TenantResolution = string | Tenant | undefined | null;

/**
 * Finds the tenant of a request. Resolvers are tried in order; the first to return a value wins.
 * A resolver returns `undefined` when the request does not carry what it looks for, and throws
 * when it does but the value is unusable (e.g. a forged token).
 *
 * Custom resolvers are plain functions:
 *
 * @example
 * ```ts
 * const fromApiKey: TenantResolver = async (req) => lookUpApiKey(req.headers['x-api-key']);
 * TenancyModule.forRoot({ registryUrl, resolvers: [fromApiKey, header()] });
 * ```
 */
export type TenantResolver = ((req: TenancyRequest, tenancy: Tenancy) => TenantResolution | Promise<TenantResolution>) & {
  /** Where the resolver looks, for the "tenant missing" message, e.g. `x-tenant-id header`. */
  readonly description?: string;
};

/** Gives a resolver the description used in the "tenant missing" message. */
export function describedResolver(
  description: string,
  fn: (req: TenancyRequest, tenancy: Tenancy) => TenantResolution | Promise<TenantResolution>,
): TenantResolver {
  return Object.assign(fn, { description });
}

/** The description of a resolver: its own, or its function name. */
export function describeResolver(resolver: TenantResolver): string {
  return resolver.description ?? (resolver.name ? `resolver ${resolver.name}` : 'a custom resolver');
}

/** One header's value: undefined when absent or blank; a repeated header is kept joined (and then fails validation). */
export function headerValue(req: TenancyRequest, name: string): string | undefined {
  const raw = req.headers[name.toLowerCase()];
  const value = Array.isArray(raw) ? raw.join(', ') : raw;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed.length === 0 ? undefined : trimmed;
}

/** The request's host name, lowercased, without port; undefined when absent. */
export function requestHost(req: TenancyRequest): string | undefined {
  let host = req.hostname ?? headerValue(req, 'host');
  if (host === undefined || host.length === 0) return undefined;
  host = host.toLowerCase();
  // Strip a port (but not from a bracketed IPv6 literal's inside).
  if (host.startsWith('[')) return host;
  const colon = host.lastIndexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.replace(/\.$/, '') || undefined;
}

/** Splits a request URL into path and the rest (`?query`), without decoding. */
export function splitUrl(url: string): { path: string; search: string } {
  const q = url.search(/[?#]/);
  return q === -1 ? { path: url, search: '' } : { path: url.slice(0, q), search: url.slice(q) };
}

/** A resolved reference, with the resolver that found it. */
export interface ChainResult {
  readonly ref: string | Tenant;
  readonly resolver: TenantResolver;
}

/**
 * Runs the resolvers in order and returns the first answer. Errors thrown by a resolver end
 * the chain and propagate.
 */
export async function runResolverChain(
  resolvers: readonly TenantResolver[],
  req: TenancyRequest,
  tenancy: Tenancy,
): Promise<ChainResult | undefined> {
  return await resolveChain(resolvers, req, tenancy);
}

/**
 * {@link runResolverChain} without a promise while the resolvers answer synchronously (the
 * header, path, query and subdomain resolvers do): the middleware's hot path. A resolver that
 * returns a promise makes the rest of the chain asynchronous. Throws what a resolver throws.
 * @internal
 */
export function resolveChain(
  resolvers: readonly TenantResolver[],
  req: TenancyRequest,
  tenancy: Tenancy,
  from = 0,
): ChainResult | undefined | Promise<ChainResult | undefined> {
  for (let i = from; i < resolvers.length; i++) {
    const resolver = resolvers[i]!;
    const found = resolver(req, tenancy);
    if (isThenable(found)) {
      return Promise.resolve(found).then((f) => chainAnswer(resolver, f) ?? resolveChain(resolvers, req, tenancy, i + 1));
    }
    const answer = chainAnswer(resolver, found);
    if (answer !== undefined) return answer;
  }
  return undefined;
}

function isThenable(x: unknown): x is PromiseLike<TenantResolution> {
  return x instanceof Promise || (x !== null && typeof x === 'object' && typeof (x as { then?: unknown }).then === 'function');
}

/** What one resolver's value means for the chain: a result, or undefined to try the next one. */
function chainAnswer(resolver: TenantResolver, found: TenantResolution): ChainResult | undefined {
  if (found === undefined || found === null) return undefined;
  if (typeof found === 'string') {
    const ref = found.trim();
    return ref.length === 0 ? undefined : { ref, resolver };
  }
  return { ref: found, resolver };
}
