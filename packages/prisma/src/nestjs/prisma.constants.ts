/** Injection token of the context Prisma client, `adapter.client` (use `@InjectPrisma()`). */
export const PRISMA = Symbol.for('tenantry:prisma:client');

/** Injection token of the {@link PrismaAdapter} (use `@InjectPrismaAdapter()`): `forTenant()`, `bind()`, `stats()`. */
export const PRISMA_ADAPTER = Symbol.for('tenantry:prisma:adapter');
