import { ErrorCodes, isTenantryError, TenantryError } from '@tenantry/core';
import { describedResolver, splitUrl, type TenantResolver } from './tenant-resolver.js';

/** Options of {@link path}. */
export interface PathResolverOptions {
  /**
   * The path segment(s) before the tenant: `/t/:slug/...` by default. `''` makes the tenant the
   * **first** segment, `/:tenantSlug/...` (seed 003's form): then list the routes that are not
   * a tenant's in `exclude`.
   */
  readonly prefix?: string;
  /**
   * Removes `/<prefix>/<slug>` from the URL before routing, so `/t/acme/posts` is served by the
   * `/posts` route. Default true. Works when no global prefix is set (the middleware is then
   * mounted at the root); with a global prefix, set false and declare the segment in your routes.
   * Set false too to declare it yourself, as seed 003 does: `@Controller(':tenantSlug/users')`.
   */
  readonly rewrite?: boolean;
  /**
   * Paths that are not tenant routes, matched where the tenant segment would be (after the
   * prefix), case-insensitively as Express routes: `'health'` is `/health` (and `/health/`),
   * `'auth/*'` is `/auth` and everything under it (`'auth/(.*)'` and `'auth/{*path}'` are read
   * the same). On such a path this resolver finds nothing and the next one is tried. Default none.
   * Mark the routes themselves `@SkipTenancy()`: this only keeps their first segment from being
   * read as a tenant.
   */
  readonly exclude?: readonly string[];
}

/** A URL path segment: unreserved characters only, never `.` or `..`. */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;
/** The trailing wildcards of an excluded path: `*`, `(.*)` (NestJS 10), `{*name}` (NestJS 11). */
const WILDCARD = /^(?:\*|\(\.\*\)|\{\*[A-Za-z_][A-Za-z0-9_]*\})$/;

function segments(text: string): string[] | undefined {
  const parts = text.split('/');
  return parts.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..') ? parts : undefined;
}

interface Exclusion {
  /** Lowercased, joined by `/`, no leading or trailing slash. */
  readonly path: string;
  /** Everything under `path` too. */
  readonly subtree: boolean;
}

function exclusion(pattern: unknown): Exclusion {
  const text = typeof pattern === 'string' ? pattern.replace(/^\/+|\/+$/g, '') : '';
  const parts = text.split('/');
  const subtree = parts.length > 1 && WILDCARD.test(parts[parts.length - 1]!);
  const literal = subtree ? parts.slice(0, -1) : parts;
  if (text.length === 0 || segments(literal.join('/')) === undefined) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      `path({ exclude }) takes route paths such as 'health' or 'auth/*' (a wildcard only as the last segment), got ${JSON.stringify(pattern)}`,
    );
  }
  return { path: literal.join('/').toLowerCase(), subtree };
}

function isExcluded(rest: string, exclusions: readonly Exclusion[]): boolean {
  if (exclusions.length === 0) return false;
  const p = rest.replace(/\/+$/, '').toLowerCase();
  return exclusions.some((e) => p === e.path || (e.subtree && p.startsWith(`${e.path}/`)));
}

/**
 * Reads the tenant from the path: `/t/acme/posts` → `acme`, under a fixed prefix so tenant
 * slugs never collide with other routes; or, with `prefix: ''`, from the **first** segment,
 * `/acme/posts` → `acme` (seed 003's `/:tenantSlug/...`), where every path not listed in
 * `exclude` names a tenant.
 *
 * The tenant is looked up (through the registry cache) here, so an unknown one is a 404
 * `TENANT_NOT_FOUND` that says the path named it (`no tenant 'helth'` followed by where the
 * tenant was read) when the route needs a tenant; a malformed segment
 * (`/ACME'--/users`, bad percent-encoding) is a 400 `INVALID_TENANT_ID`. Both are recorded for
 * the guard: a route that does not exist stays Nest's 404, and a `@SkipTenancy()` route is not
 * failed by them.
 *
 * Put it first in the chain when `rewrite` is on: a request whose tenant an earlier resolver
 * found keeps its `/t/<slug>` path and matches no route. With `prefix: ''` it answers for every
 * path but the excluded ones, so the resolvers after it only see those.
 *
 * @example
 * ```ts
 * TenancyModule.forRoot({ registryUrl, resolvers: [path(), header()] })
 * ```
 *
 * @example
 * ```ts
 * // Seed 003: `@Controller(':tenantSlug/users')`; /health and /auth/... are no tenant's.
 * TenancyModule.forRoot({ registryUrl, resolvers: [path({ prefix: '', rewrite: false, exclude: ['health', 'auth/*'] })] })
 * ```
 */
export function path(options: PathResolverOptions = {}): TenantResolver {
  const given = options.prefix ?? 't';
  const prefix = typeof given === 'string' ? given.replace(/^\/+|\/+$/g, '') : undefined;
  if (prefix === undefined || (prefix.length > 0 && segments(prefix) === undefined)) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      `path({ prefix }) must be URL path segments such as 't', or '' for the first segment, got ${JSON.stringify(options.prefix)}`,
    );
  }
  if (options.exclude !== undefined && !Array.isArray(options.exclude)) {
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, "path({ exclude }) takes an array of route paths, e.g. ['health', 'auth/*']");
  }
  const exclusions = (options.exclude ?? []).map(exclusion);
  const rewrite = options.rewrite !== false;
  const head = prefix.length === 0 ? '/' : `/${prefix}/`;
  const shape = `${head}:tenant`;
  const where =
    prefix.length === 0 ? 'the first segment of the path names the tenant: /<tenant>/…' : `the path ${head}<tenant>/… names the tenant`;
  return describedResolver(`path ${shape}`, async (req, tenancy) => {
    const url = req.url ?? req.originalUrl;
    if (url === undefined) return undefined;
    const { path: p, search } = splitUrl(url);
    if (!p.startsWith(head)) return undefined;
    const rest = p.slice(head.length);
    if (isExcluded(rest, exclusions)) return undefined;
    const slash = rest.indexOf('/');
    const segment = slash === -1 ? rest : rest.slice(0, slash);
    if (segment.length === 0) return undefined;
    let ref: string;
    try {
      ref = decodeURIComponent(segment);
    } catch {
      throw new TenantryError(ErrorCodes.INVALID_TENANT_ID, 'the tenant segment of the path is not valid percent-encoding');
    }
    if (rewrite) req.url = `${slash === -1 ? '/' : rest.slice(slash)}${search}`;
    try {
      return await tenancy.resolve(ref);
    } catch (err) {
      // Without a tenant in the context, so the HTTP answer keeps this message (a mistyped route
      // is then recognisable); the status errors (suspended, not ready) pass unchanged.
      if (isTenantryError(err, ErrorCodes.TENANT_NOT_FOUND))
        throw new TenantryError(ErrorCodes.TENANT_NOT_FOUND, `no tenant '${ref}' (${where})`);
      throw err;
    }
  });
}
