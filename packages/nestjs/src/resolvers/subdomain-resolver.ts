import { ErrorCodes, TenantryError } from '@tenantry/core';
import { describedResolver, requestHost, type TenantResolver } from './tenant-resolver.js';

/** Options of {@link subdomain}. */
export interface SubdomainResolverOptions {
  /** Labels that are not tenants. Default `['www']`. */
  readonly ignore?: readonly string[];
}

/**
 * Reads the tenant slug from the first label of the host under `baseDomain`:
 * `acme.example.com` → `acme`. Hosts not directly under the base domain (the base itself,
 * `a.b.example.com`, other domains) are left to the next resolver.
 *
 * @example
 * ```ts
 * subdomain('example.com')
 * ```
 */
export function subdomain(baseDomain: string, options: SubdomainResolverOptions = {}): TenantResolver {
  const base = String(baseDomain ?? '')
    .toLowerCase()
    .replace(/^\.+|\.+$/g, '');
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(base)) {
    throw new TenantryError(
      ErrorCodes.INVALID_ARGUMENT,
      `subdomain(baseDomain) needs a host name such as 'example.com', got ${JSON.stringify(baseDomain)}`,
    );
  }
  const ignore = new Set((options.ignore ?? ['www']).map((l) => l.toLowerCase()));
  const suffix = `.${base}`;
  return describedResolver(`subdomain of ${base}`, (req) => {
    const host = requestHost(req);
    if (host === undefined || !host.endsWith(suffix)) return undefined;
    const label = host.slice(0, -suffix.length);
    if (label.length === 0 || label.includes('.') || ignore.has(label)) return undefined;
    return label;
  });
}
