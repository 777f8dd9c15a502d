import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCodes, TenantryError } from '@tenantry/core';
import { describeResolver } from './resolvers/tenant-resolver.js';
import { DEFAULT_MISSING_TENANT_MESSAGE, SKIP_TENANCY, TENANCY_MODULE_OPTIONS } from './tenancy.constants.js';
import type { TenancyModuleOptions } from './tenancy.interfaces.js';
import { DEFAULT_RESOLVERS } from './tenancy.middleware.js';
import { requestTenancy } from './tenancy-request.js';

/** The 400 message when no resolver found a tenant. */
export function missingTenantMessage(options: TenancyModuleOptions): string {
  if (options.missingTenantMessage !== undefined) return options.missingTenantMessage;
  const resolvers = options.resolvers ?? DEFAULT_RESOLVERS;
  const places = resolvers.map(describeResolver);
  if (places.length === 0) return 'Tenant ID is missing: no tenant resolvers are configured';
  if (places.includes('x-tenant-id header')) {
    const others = places.filter((p) => p !== 'x-tenant-id header');
    return others.length === 0
      ? DEFAULT_MISSING_TENANT_MESSAGE
      : `${DEFAULT_MISSING_TENANT_MESSAGE} (also looked in: ${others.join(', ')})`;
  }
  return `Tenant ID is missing: looked in ${places.join(', ')}`;
}

/**
 * Global guard installed by `TenancyModule`: a route needs a tenant unless it is marked
 * `@SkipTenancy()`. It rethrows what the middleware recorded (`TENANT_NOT_FOUND`,
 * `TENANT_SUSPENDED`, `INVALID_TENANT_ID`, …) or throws `TENANT_REQUIRED`.
 */
@Injectable()
export class TenancyGuard implements CanActivate {
  readonly #reflector: Reflector;
  readonly #missing: string;

  constructor(@Inject(Reflector) reflector: Reflector, @Inject(TENANCY_MODULE_OPTIONS) options: TenancyModuleOptions) {
    this.#reflector = reflector;
    this.#missing = missingTenantMessage(options);
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const skip = this.#reflector.getAllAndOverride<boolean | undefined>(SKIP_TENANCY, [context.getHandler(), context.getClass()]);
    if (skip === true) return true;
    const state = requestTenancy(context.switchToHttp().getRequest() as object);
    if (state?.error !== undefined) throw state.error;
    if (state?.tenant === undefined) throw new TenantryError(ErrorCodes.TENANT_REQUIRED, this.#missing);
    return true;
  }
}
