import { jwtVerify, type JWTVerifyGetKey, type KeyInput } from 'jose';
import { ErrorCodes, TenantryError } from '@tenantry/core';
import { InvalidTokenError } from '../http-errors.js';
import { describedResolver, headerValue, type TenancyRequest, type TenantResolver } from './tenant-resolver.js';

/** Verifies a token and returns its claims; throws when the token is not valid. */
export type TokenVerifier = (token: string) => Promise<Readonly<Record<string, unknown>>>;

/** Options of {@link jwtClaim}: either a `verify` function, or a key with jose's checks. */
export type JwtClaimResolverOptions =
  | {
      /** Your verification (signature, issuer, audience, expiry…). Must throw on an invalid token. */
      readonly verify: TokenVerifier;
      /** Where the token is; default the `Authorization: Bearer` header. */
      readonly token?: (req: TenancyRequest) => string | undefined;
    }
  | {
      /** Secret, public key, JWK, or key-set function (`createRemoteJWKSet(url)`) for jose's `jwtVerify`. */
      readonly key: KeyInput | JWTVerifyGetKey;
      /** Accepted algorithms, e.g. `['HS256']` or `['RS256']`. Required: never guess. */
      readonly algorithms: readonly string[];
      readonly issuer?: string | readonly string[];
      readonly audience?: string | readonly string[];
      /** Allowed clock skew in seconds. Default 5. */
      readonly clockTolerance?: number;
      readonly token?: (req: TenancyRequest) => string | undefined;
    };

/** The bearer token of the `Authorization` header, if any. */
export function bearerToken(req: TenancyRequest): string | undefined {
  const value = headerValue(req, 'authorization');
  if (value === undefined) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(value);
  return m ? m[1] : undefined;
}

/**
 * Reads the tenant from a claim (default `tid`) of a **verified** JWT in the
 * `Authorization: Bearer` header. The token is never decoded before its signature and claims
 * are checked; a present but invalid token fails with 401 `UNAUTHORIZED` when the route needs a
 * tenant. A request without a token, or whose token lacks the claim, goes to the next resolver.
 *
 * @example
 * ```ts
 * jwtClaim('tid', { key: new TextEncoder().encode(process.env.JWT_SECRET), algorithms: ['HS256'],
 *   issuer: 'my-api', audience: 'my-api' })
 * ```
 */
export function jwtClaim(claim: string, options: JwtClaimResolverOptions): TenantResolver {
  if (typeof claim !== 'string' || claim.length === 0)
    throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'jwtClaim(claim, options) needs a claim name such as "tid"');
  let verify: TokenVerifier;
  if ('verify' in options) {
    if (typeof options.verify !== 'function')
      throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'jwtClaim(): options.verify must be a function');
    verify = options.verify;
  } else {
    if (!options.key)
      throw new TenantryError(ErrorCodes.INVALID_ARGUMENT, 'jwtClaim(): give options.key (with options.algorithms) or options.verify');
    if (
      !Array.isArray(options.algorithms) ||
      options.algorithms.length === 0 ||
      options.algorithms.some((a) => typeof a !== 'string' || a.toLowerCase() === 'none')
    ) {
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        "jwtClaim(): options.algorithms must list the accepted algorithms, e.g. ['HS256'] ('none' is never accepted)",
      );
    }
    const { key, algorithms, issuer, audience } = options;
    const verifyOptions = {
      algorithms: [...algorithms],
      clockTolerance: options.clockTolerance ?? 5,
      ...(issuer === undefined ? {} : { issuer: typeof issuer === 'string' ? issuer : [...issuer] }),
      ...(audience === undefined ? {} : { audience: typeof audience === 'string' ? audience : [...audience] }),
    };
    verify = async (token) => (await jwtVerify(token, key as KeyInput, verifyOptions)).payload;
  }
  const extract = options.token ?? bearerToken;
  return describedResolver(`verified JWT claim ${claim}`, async (req) => {
    const token = extract(req);
    if (token === undefined) return undefined;
    let claims: Readonly<Record<string, unknown>>;
    try {
      claims = await verify(token);
    } catch {
      throw new InvalidTokenError();
    }
    const value = claims[claim];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  });
}
