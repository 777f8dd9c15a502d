import { ErrorCodes, isTenantryError } from '@tenantry/core';
import { describedResolver, requestHost, type TenantResolver } from './tenant-resolver.js';

/**
 * Finds the tenant by the request's host among the custom domains registered in the registry
 * (`tenancy.tenants.addDomain('acme', 'app.acme.com')`), through the registry cache. A host that
 * is no tenant's domain is left to the next resolver; a domain of a suspended tenant fails with
 * `TENANT_SUSPENDED`.
 *
 * @example
 * ```ts
 * TenancyModule.forRoot({ registryUrl, resolvers: [domain(), header()] })
 * ```
 */
export function domain(): TenantResolver {
  return describedResolver('custom domain', async (req, tenancy) => {
    const host = requestHost(req);
    if (host === undefined) return undefined;
    try {
      return await tenancy.resolveDomain(host);
    } catch (err) {
      // localhost, IP literals and hosts nobody registered: not this resolver's business.
      if (isTenantryError(err, ErrorCodes.INVALID_DOMAIN) || isTenantryError(err, ErrorCodes.TENANT_NOT_FOUND)) return undefined;
      throw err;
    }
  });
}
