/** Injection token of the application's Knex instance, `adapter.knex` (use `@InjectKnex()`). */
export const KNEX = Symbol.for('tenantry:knex:knex');

/** Injection token of the {@link KnexAdapter} (use `@InjectKnexAdapter()`): `bind(db)`. */
export const KNEX_ADAPTER = Symbol.for('tenantry:knex:adapter');
