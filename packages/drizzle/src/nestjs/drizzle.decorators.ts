import { Inject } from '@nestjs/common';
import { DRIZZLE, DRIZZLE_ADAPTER } from './drizzle.constants.js';

/**
 * Injects the Drizzle database of `TenantryDrizzleModule`: a singleton whose every statement —
 * and every `db.transaction()` — runs in the tenant of the request (or of `tenancy.run()`).
 * No request scope.
 *
 * @example
 * ```ts
 * constructor(@InjectDrizzle() private readonly db: TenantDrizzle<typeof schema>) {}
 * ```
 */
export const InjectDrizzle = (): PropertyDecorator & ParameterDecorator => Inject(DRIZZLE);

/** Injects the `DrizzleAdapter` of `TenantryDrizzleModule` (`bind(uow)`, `pool`). */
export const InjectDrizzleAdapter = (): PropertyDecorator & ParameterDecorator => Inject(DRIZZLE_ADAPTER);
