import { ErrorCodes, TenantryError } from '@tenantry/core';
import { describedResolver, splitUrl, type TenantResolver } from './tenant-resolver.js';

/** Options of {@link path}. */
export interface PathResolverOptions {
  /** The path segment before the tenant: `/t/:slug/...` by default. */
  readonly prefix?: string;
  /**
   * Removes `/<prefix>/<slug>` from the URL before routing, so `/t/acme/posts` is served by the
   * `/posts` route. Default true. Works when no global prefix is set (the middleware is then
   * mounted at the root); with a global prefix, set false and declare the segment in your routes.
   */
  readonly rewrite?: boolean;
}

/**
 * Reads the tenant from the path: `/t/acme/posts` → `acme` (seed 003's path-based tenants,
 * under a fixed prefix so tenant slugs never collide with other routes).
 *
 * Put it first in the chain when `rewrite` is on: a request whose tenant an earlier resolver
 * found keeps its `/t/<slug>` path and matches no route.
 *
 * @example
 * ```ts
 * TenancyModule.forRoot({ registryUrl, resolvers: [path(), header()] })
 * ```
 */
export function path(options: PathResolverOptions = {}): TenantResolver {
  const prefix = (options.prefix ?? 't').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      `path({ prefix }) must be URL path segments such as 't', got ${JSON.stringify(options.prefix)}`,
    );
  }
  const rewrite = options.rewrite !== false;
  const head = `/${prefix}/`;
  return describedResolver(`path /${prefix}/:tenant`, (req) => {
    const url = req.url ?? req.originalUrl;
    if (url === undefined) return undefined;
    const { path: p, search } = splitUrl(url);
    if (!p.startsWith(head)) return undefined;
    const rest = p.slice(head.length);
    const slash = rest.indexOf('/');
    const segment = slash === -1 ? rest : rest.slice(0, slash);
    if (segment.length === 0) return undefined;
    let tenant: string;
    try {
      tenant = decodeURIComponent(segment);
    } catch {
      throw new TenantryError(ErrorCodes.INVALID_TENANT_ID, 'the tenant segment of the path is not valid percent-encoding');
    }
    if (rewrite) req.url = `${slash === -1 ? '/' : rest.slice(slash)}${search}`;
    return tenant;
  });
}
