/** Injection token of the application's Drizzle database, `adapter.db` (use `@InjectDrizzle()`). */
export const DRIZZLE = Symbol.for('tenantry:drizzle:db');

/** Injection token of the {@link DrizzleAdapter} (use `@InjectDrizzleAdapter()`): `bind(uow)`. */
export const DRIZZLE_ADAPTER = Symbol.for('tenantry:drizzle:adapter');
