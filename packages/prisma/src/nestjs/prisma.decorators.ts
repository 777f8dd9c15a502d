import { Inject } from '@nestjs/common';
import { PRISMA, PRISMA_ADAPTER } from './prisma.constants.js';

/**
 * Injects the Prisma client of `TenantryPrismaModule`: a singleton whose every call runs in the
 * tenant of the request (or of `tenancy.run()`). No request scope.
 *
 * @example
 * ```ts
 * constructor(@InjectPrisma() private readonly prisma: PrismaClient) {}
 * ```
 */
export const InjectPrisma = (): PropertyDecorator & ParameterDecorator => Inject(PRISMA);

/** Injects the `PrismaAdapter` of `TenantryPrismaModule` (`forTenant()`, `bind()`, `stats()`, `evict()`). */
export const InjectPrismaAdapter = (): PropertyDecorator & ParameterDecorator => Inject(PRISMA_ADAPTER);
