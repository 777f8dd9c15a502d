import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { bearerToken, InvalidTokenError, type TenancyRequest } from '@tenantry/nestjs';
import { sha256 } from '../store/api-store.js';
import { ApiSecrets } from './secrets.js';

/**
 * Admin routes: `Authorization: Bearer <admin token>`. The token's sha256 is compared with the
 * stored one in constant time (equal-length digests, so the length leaks nothing either).
 */
@Injectable()
export class AdminGuard implements CanActivate {
  readonly #hash: Buffer;

  constructor(@Inject(ApiSecrets) secrets: ApiSecrets) {
    this.#hash = secrets.adminTokenHash;
  }

  canActivate(context: ExecutionContext): boolean {
    const token = bearerToken(context.switchToHttp().getRequest<TenancyRequest>());
    if (token === undefined) throw new InvalidTokenError('admin routes need Authorization: Bearer <admin token>');
    const given = Buffer.from(sha256(token), 'hex');
    if (given.length !== this.#hash.length || !timingSafeEqual(given, this.#hash))
      throw new InvalidTokenError('the admin token is not valid');
    return true;
  }
}
