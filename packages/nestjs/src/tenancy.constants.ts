/** Injection token of the {@link Tenancy} instance (use `@InjectTenancy()`). */
export const TENANCY = Symbol.for('tenantry:nestjs:tenancy');

/** Injection token of the options given to `TenancyModule.forRoot()` / `forRootAsync()`. */
export const TENANCY_MODULE_OPTIONS = Symbol.for('tenantry:nestjs:module-options');

/** Metadata key set by `@SkipTenancy()`. */
export const SKIP_TENANCY = 'tenantry:skip-tenancy';

/** Property under which the middleware keeps what it resolved on the request object. */
export const TENANCY_REQUEST_STATE = Symbol.for('tenantry:nestjs:request-state');

/** The message of a missing tenant, as the reference API (seed 000) words it. */
export const DEFAULT_MISSING_TENANT_MESSAGE = 'Tenant ID is missing in x-tenant-id header';

/**
 * Whether `TenancyContextInterceptor` is registered (`contextInterceptor`); when it is not, the
 * guard checks that the request's context is intact. @internal
 */
export const TENANCY_CONTEXT_INTERCEPTED = Symbol.for('tenantry:nestjs:context-intercepted');
