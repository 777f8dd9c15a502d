import { Inject } from '@nestjs/common';
import { KNEX, KNEX_ADAPTER } from './knex.constants.js';

/**
 * Injects the Knex instance of `TenantryKnexModule`: a singleton whose every query — and every
 * `knex.transaction()` — runs in the tenant of the request (or of `tenancy.run()`). No request
 * scope.
 *
 * @example
 * ```ts
 * constructor(@InjectKnex() private readonly knex: Knex) {}
 * ```
 */
export const InjectKnex = (): PropertyDecorator & ParameterDecorator => Inject(KNEX);

/** Injects the `KnexAdapter` of `TenantryKnexModule` (`bind(db)`, `pool`). */
export const InjectKnexAdapter = (): PropertyDecorator & ParameterDecorator => Inject(KNEX_ADAPTER);
