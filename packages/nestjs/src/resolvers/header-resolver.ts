import { describedResolver, headerValue, type TenantResolver } from './tenant-resolver.js';

/**
 * Reads the tenant id or slug from a request header (default `x-tenant-id`, as in the
 * reference API).
 *
 * @example
 * ```ts
 * TenancyModule.forRoot({ registryUrl, resolvers: [header()] })
 * // curl -H 'x-tenant-id: acme' http://localhost:3000/posts
 * ```
 */
export function header(name = 'x-tenant-id'): TenantResolver {
  const key = name.toLowerCase();
  return describedResolver(`${key} header`, (req) => headerValue(req, key));
}
