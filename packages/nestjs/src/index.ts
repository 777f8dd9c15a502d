export { TenancyModule } from './tenancy.module.js';
export { TenancyCoreModule } from './tenancy-core.module.js';
export { OrmWiringCheck } from './orm-wiring-check.js';
export { TENANCY, TENANCY_MODULE_OPTIONS, SKIP_TENANCY, DEFAULT_MISSING_TENANT_MESSAGE } from './tenancy.constants.js';
export type {
  TenancyHttpOptions,
  TenancyModuleOptions,
  TenancyModuleCreateOptions,
  TenancyModuleInstanceOptions,
  TenancyModuleAsyncOptions,
  TenancyOptionsFactory,
} from './tenancy.interfaces.js';
export { InjectTenancy, InjectTenancyOptions, SkipTenancy, CurrentTenant } from './tenancy.decorators.js';
export { TenancyMiddleware, DEFAULT_RESOLVERS } from './tenancy.middleware.js';
export { TenancyGuard, missingTenantMessage } from './tenancy.guard.js';
export { TenancyContextInterceptor } from './tenancy-context.interceptor.js';
export { TenancyExceptionFilter, toHttpError, TENANTRY_HTTP_STATUS } from './tenancy-exception.filter.js';
export type { ErrorBody, HttpErrorResponse } from './tenancy-exception.filter.js';
export { requestTenancy } from './tenancy-request.js';
export type { RequestTenancy } from './tenancy-request.js';
export { HttpErrorCodes, TenantMismatchError, InvalidTokenError, validationExceptionFactory } from './http-errors.js';
export type { FieldError, ValidationErrorLike } from './http-errors.js';
export { header } from './resolvers/header-resolver.js';
export { subdomain } from './resolvers/subdomain-resolver.js';
export type { SubdomainResolverOptions } from './resolvers/subdomain-resolver.js';
export { domain } from './resolvers/domain-resolver.js';
export { path } from './resolvers/path-resolver.js';
export type { PathResolverOptions } from './resolvers/path-resolver.js';
export { query } from './resolvers/query-resolver.js';
export { jwtClaim, bearerToken } from './resolvers/jwt-claim-resolver.js';
export type { JwtClaimResolverOptions, TokenVerifier } from './resolvers/jwt-claim-resolver.js';
export { runResolverChain, describedResolver, describeResolver, requestHost, headerValue } from './resolvers/tenant-resolver.js';
export type { TenantResolver, TenantResolution, TenancyRequest, ChainResult } from './resolvers/tenant-resolver.js';
