import { randomUUID, webcrypto } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SignJWT, jwtVerify } from 'jose';
import { InvalidTokenError } from '@tenantry/nestjs';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../api.constants.js';
import { ApiSecrets } from './secrets.js';

/** What a verified tenant token says. */
export interface TenantClaims {
  /** Tenant id the token is valid for. */
  readonly tid: string;
  /** Who: `user:<uuid>` for a login, or what the admin chose. */
  readonly sub: string;
  readonly exp: number;
}

/** A token as the API returns it. */
export interface IssuedToken {
  readonly token: string;
  readonly tokenType: 'Bearer';
  readonly expiresAt: string;
  readonly tenantId: string;
}

/**
 * Tenant tokens: HS256 JWTs with issuer, audience, expiry, the tenant id in `tid`. Verification
 * accepts HS256 only (so `alg: none` and algorithm swaps fail) and checks every claim.
 */
@Injectable()
export class TokenService {
  /** Imported once: given raw bytes, jose would import the HMAC key again on every call. */
  readonly #key: Promise<webcrypto.CryptoKey>;

  constructor(@Inject(ApiSecrets) secrets: ApiSecrets) {
    this.#key = webcrypto.subtle.importKey('raw', secrets.jwtKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.#key.catch(() => undefined); // reported when first used, not as an unhandled rejection
  }

  async issue(tenantId: string, subject: string, ttlSeconds: number): Promise<IssuedToken> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + ttlSeconds;
    const token = await new SignJWT({ tid: tenantId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(await this.#key);
    return { token, tokenType: 'Bearer', expiresAt: new Date(exp * 1000).toISOString(), tenantId };
  }

  /** Verifies signature, algorithm, issuer, audience and expiry. Throws 401 `UNAUTHORIZED`. */
  async verify(token: string): Promise<TenantClaims> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'sub', 'tid'],
        clockTolerance: 5,
      });
      if (typeof payload['tid'] !== 'string' || typeof payload.sub !== 'string' || typeof payload.exp !== 'number')
        throw new Error('malformed claims');
      return { tid: payload['tid'], sub: payload.sub, exp: payload.exp };
    } catch {
      throw new InvalidTokenError('the bearer token is invalid or expired');
    }
  }
}
