import { TokenService } from '@tenantry/api/dist/auth/token.service.js';
import type { ApiSecrets } from '@tenantry/api/dist/auth/secrets.js';

/**
 * apps/api's own TokenService (HS256 tenant tokens: issuer, audience, expiry, claims) over a key
 * of our own: its ApiSecrets would read the API's environment. Used by the `plain-full` row of
 * bench:http, whose app checks tokens exactly as the reference API does.
 */
export function tokenService(jwtKey: Buffer): TokenService {
  return new TokenService({ jwtKey } as unknown as ApiSecrets);
}

export type { TokenService };
