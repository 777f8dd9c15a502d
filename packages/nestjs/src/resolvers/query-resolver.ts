import { ErrorCodes, TenantryError } from '@tenantry/core';
import { describedResolver, splitUrl, type TenantResolver } from './tenant-resolver.js';

/**
 * Reads the tenant id or slug from a query parameter (default `tenant`): `/posts?tenant=acme`.
 * A repeated parameter is rejected rather than guessed.
 *
 * @example
 * ```ts
 * query('tenant')
 * ```
 */
export function query(name = 'tenant'): TenantResolver {
  return describedResolver(`query parameter ${name}`, (req) => {
    const url = req.originalUrl ?? req.url;
    if (url === undefined) return undefined;
    const { search } = splitUrl(url);
    if (!search.startsWith('?')) return undefined;
    const params = new URLSearchParams(search.slice(1).split('#')[0]);
    const values = params.getAll(name);
    if (values.length > 1) throw new TenantryError(ErrorCodes.INVALID_TENANT_ID, `query parameter '${name}' is given more than once`);
    const value = values[0]?.trim();
    return value === undefined || value.length === 0 ? undefined : value;
  });
}
