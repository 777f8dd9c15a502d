import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { bearerToken, InvalidTokenError, requestTenancy, TenantMismatchError, type TenancyRequest } from '@tenantry/nestjs';
import { TokenService, type TenantClaims } from './token.service.js';

const CLAIMS = Symbol.for('tenantry:api:claims');

/** The verified claims of the request's token (set by {@link TenantAuthGuard}). */
export function requestClaims(req: object): TenantClaims | undefined {
  return (req as { [CLAIMS]?: TenantClaims })[CLAIMS];
}

/**
 * Tenant routes: a valid tenant token whose `tid` is the request's tenant. Runs after the
 * global TenancyGuard, so the tenant is known; a token of tenant A sent for tenant B is
 * 403 `TENANT_MISMATCH`.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  readonly #tokens: TokenService;

  constructor(@Inject(TokenService) tokens: TokenService) {
    this.#tokens = tokens;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<TenancyRequest>();
    const token = bearerToken(req);
    if (token === undefined)
      throw new InvalidTokenError(
        'tenant routes need Authorization: Bearer <tenant token> (from POST /auth/login or POST /tenants/:id/tokens)',
      );
    const claims = await this.#tokens.verify(token);
    const tenant = requestTenancy(req)?.tenant;
    if (tenant === undefined || claims.tid !== tenant.id)
      throw new TenantMismatchError(`the token was issued for another tenant than '${tenant?.slug ?? '?'}'`);
    Object.defineProperty(req, CLAIMS, { value: claims, enumerable: false });
    return true;
  }
}
