import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { currentTenant, type Tenancy } from '@tenantry/core';
import { header } from './resolvers/header-resolver.js';
import { resolveChain, type ChainResult, type TenancyRequest, type TenantResolver } from './resolvers/tenant-resolver.js';
import { TENANCY, TENANCY_MODULE_OPTIONS } from './tenancy.constants.js';
import type { TenancyModuleOptions } from './tenancy.interfaces.js';
import { attachRequestTenancy, requestTenancy, type RequestTenancy } from './tenancy-request.js';

/** The default chain: the `x-tenant-id` header (id or slug), as in the reference API. */
export const DEFAULT_RESOLVERS: readonly TenantResolver[] = Object.freeze([header('x-tenant-id')]);

/**
 * Runs the resolver chain for every request and, when a routable tenant is found, calls
 * `next()` inside `tenancy.run(tenant, …)`: the rest of the request — guards, interceptors,
 * pipes, the handler and all its async work, exception filters — runs in the tenant's
 * AsyncLocalStorage context. Failures are not thrown here (the middleware cannot see whether
 * the route needs a tenant); they are recorded on the request for {@link TenancyGuard}.
 */
@Injectable()
export class TenancyMiddleware implements NestMiddleware {
  readonly #tenancy: Tenancy;
  readonly #resolvers: readonly TenantResolver[];

  constructor(@Inject(TENANCY) tenancy: Tenancy, @Inject(TENANCY_MODULE_OPTIONS) options: TenancyModuleOptions) {
    this.#tenancy = tenancy;
    this.#resolvers = options.resolvers ?? DEFAULT_RESOLVERS;
  }

  use(req: TenancyRequest, _res: unknown, next: (err?: unknown) => void): void | Promise<void> {
    // Mounted on several paths, a middleware may see a request twice; resolve it once.
    if (requestTenancy(req) !== undefined) return next();
    const state = attachRequestTenancy(req);
    // Not async: with synchronous resolvers (header, path, query, subdomain) and a cached ACTIVE
    // tenant, the chain and the tenant's lookup make no promise, and `next()` is called in the
    // tenant's context before `use` returns.
    let found: ChainResult | undefined | Promise<ChainResult | undefined>;
    try {
      found = resolveChain(this.#resolvers, req, this.#tenancy);
    } catch (err) {
      state.error = err;
      return next();
    }
    if (found instanceof Promise) {
      return found.then(
        (result) => this.#enter(state, result, next),
        (err: unknown) => {
          state.error = err;
          next();
        },
      );
    }
    return this.#enter(state, found, next);
  }

  /** Calls `next()` in the found tenant's context, or records why there is none and calls it outside. */
  #enter(state: RequestTenancy, found: ChainResult | undefined, next: (err?: unknown) => void): void | Promise<void> {
    if (found === undefined) return next();
    let entered = false;
    return this.#tenancy
      .run(found.ref, () => {
        entered = true;
        state.tenant = currentTenant();
        state.resolvedBy = found.resolver.description;
        next();
      })
      .then(undefined, (err: unknown) => {
        if (entered) throw err;
        // Unknown, suspended, not ready, malformed: the guard reports it if the route needs a tenant.
        state.error = err;
        next();
      });
  }
}
