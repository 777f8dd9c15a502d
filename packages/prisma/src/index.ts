export { PrismaAdapter, prismaTenancy, tenantPrisma } from './prisma-adapter.js';
export type { PrismaClientLike, PrismaClientStats, PrismaTenancyHost, PrismaTenancyOptions } from './prisma-adapter.js';
export { prismaMigrations, unqualifyPublic } from './prisma-migrations.js';
export type { PrismaMigrationsOptions } from './prisma-migrations.js';
