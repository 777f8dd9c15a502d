import { createParamDecorator, Inject, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { currentTenant, type Tenant } from '@tenantry/core';
import { SKIP_TENANCY, TENANCY, TENANCY_MODULE_OPTIONS } from './tenancy.constants.js';
import { requestTenancy } from './tenancy-request.js';

/** Injects the {@link Tenancy} of `TenancyModule`. */
export const InjectTenancy = (): PropertyDecorator & ParameterDecorator => Inject(TENANCY);

/** Injects the options given to `TenancyModule.forRoot()` / `forRootAsync()`. */
export const InjectTenancyOptions = (): PropertyDecorator & ParameterDecorator => Inject(TENANCY_MODULE_OPTIONS);

/**
 * Marks a route (or a whole controller) as not needing a tenant: admin, health, login pages.
 * Without it every route needs one (400 `TENANT_REQUIRED` when none is found). On a skipped
 * route a tenant the resolvers did find is still entered, and `@CurrentTenant()` may be
 * `undefined`.
 */
export const SkipTenancy = (): MethodDecorator & ClassDecorator => SetMetadata(SKIP_TENANCY, true);

/**
 * The tenant of the request, or one of its fields.
 *
 * @example
 * ```ts
 * @Get('me') whoAmI(@CurrentTenant() tenant: Tenant, @CurrentTenant('slug') slug: string) {}
 * ```
 */
export const CurrentTenant: (field?: keyof Tenant) => ParameterDecorator = createParamDecorator(
  (field: keyof Tenant | undefined, ctx: ExecutionContext) => {
    const req = ctx.getType() === 'http' ? (ctx.switchToHttp().getRequest() as object) : undefined;
    const tenant = (req === undefined ? undefined : requestTenancy(req)?.tenant) ?? currentTenant();
    if (tenant === undefined) return undefined;
    return field === undefined ? tenant : tenant[field];
  },
);
