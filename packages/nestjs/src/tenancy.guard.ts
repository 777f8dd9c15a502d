import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { currentTenant, ErrorCodes, TenantryError } from '@tenantry/core';
import { describeResolver } from './resolvers/tenant-resolver.js';
import { DEFAULT_MISSING_TENANT_MESSAGE, SKIP_TENANCY, TENANCY_CONTEXT_INTERCEPTED, TENANCY_MODULE_OPTIONS } from './tenancy.constants.js';
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

/** The 500 of a request whose tenant context a middleware dropped while no interceptor re-enters it. */
function contextLost(slug: string): TenantryError {
  return new TenantryError(
    ErrorCodes.INTERNAL,
    `the AsyncLocalStorage context of tenant '${slug}' was lost between TenancyMiddleware and the route: a middleware mounted after it calls next() outside the request's context; fix that middleware, or set TenancyModule's contextInterceptor: true (the default) to re-enter the context for the handler`,
    { context: { tenant: slug } },
  );
}

/**
 * Global guard installed by `TenancyModule`: a route needs a tenant unless it is marked
 * `@SkipTenancy()`. It rethrows what the middleware recorded (`TENANT_NOT_FOUND`,
 * `TENANT_SUSPENDED`, `INVALID_TENANT_ID`, …) or throws `TENANT_REQUIRED`. With
 * `contextInterceptor: false` it also refuses (500 `INTERNAL`) a request whose tenant context
 * was dropped on its way from the middleware.
 */
@Injectable()
export class TenancyGuard implements CanActivate {
  readonly #reflector: Reflector;
  readonly #missing: string;
  /** `contextInterceptor: false`: check that the request's tenant context reached the guard. */
  readonly #checkContext: boolean;
  /**
   * `@SkipTenancy()` per handler and class, read once: metadata is fixed when the routes are
   * built, and the Reflector's lookup (two `Reflect.getMetadata` calls) ran on every request.
   * Keyed by handler, then class: an inherited handler may be skipped in one subclass only.
   */
  readonly #skipped = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    @Inject(Reflector) reflector: Reflector,
    @Inject(TENANCY_MODULE_OPTIONS) options: TenancyModuleOptions,
    @Optional() @Inject(TENANCY_CONTEXT_INTERCEPTED) intercepted?: boolean,
  ) {
    this.#reflector = reflector;
    this.#missing = missingTenantMessage(options);
    this.#checkContext = intercepted === false;
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const state = requestTenancy(context.switchToHttp().getRequest() as object);
    // Without TenancyContextInterceptor nothing re-enters a dropped context. The guard runs in
    // the handler's async context (Nest calls both from one async function), so what it sees
    // here is what the handler would: refuse to run the handler outside its tenant.
    if (this.#checkContext && state?.tenant !== undefined && currentTenant()?.id !== state.tenant.id) throw contextLost(state.tenant.slug);
    if (this.#skips(context.getHandler(), context.getClass())) return true;
    if (state?.error !== undefined) throw state.error;
    if (state?.tenant === undefined) throw new TenantryError(ErrorCodes.TENANT_REQUIRED, this.#missing);
    return true;
  }

  #skips(handler: object, cls: object): boolean {
    let byClass = this.#skipped.get(handler);
    if (byClass === undefined) this.#skipped.set(handler, (byClass = new WeakMap()));
    let skip = byClass.get(cls);
    if (skip === undefined) {
      skip =
        this.#reflector.getAllAndOverride<boolean | undefined>(SKIP_TENANCY, [handler as () => void, cls as new () => object]) === true;
      byClass.set(cls, skip);
    }
    return skip;
  }
}
