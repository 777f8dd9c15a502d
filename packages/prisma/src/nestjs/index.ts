export { TenantryPrismaModule } from './prisma.module.js';
export type { TenantryPrismaModuleOptions } from './prisma.module.js';
export { PRISMA, PRISMA_ADAPTER } from './prisma.constants.js';
export { InjectPrisma, InjectPrismaAdapter } from './prisma.decorators.js';
export { tenantPrismaService } from './prisma-service.js';
