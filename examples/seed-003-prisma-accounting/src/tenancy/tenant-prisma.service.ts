import { Injectable, type OnModuleInit } from '@nestjs/common';
import { currentTenant } from '@tenantry/core';
import { tenantPrismaService } from '@tenantry/prisma/nestjs';
import { PrismaClient } from '../generated/prisma/client.js';

/**
 * Seed 003's `TenantPrismaService`: injected into controllers and services, every model accessor
 * (`user`, `account`, `journalEntry`…) on the database of the request's company. The seed made it
 * `Scope.REQUEST`, proxying a client its `PrismaClientManager` created per company (swapping
 * `process.env.DATABASE_URL` meanwhile); here it is a singleton: each call resolves the company
 * of the current request, whose Prisma client Tenantry keeps (LRU, idle timeout) on its own
 * bounded pools.
 */
@Injectable()
export class TenantPrismaService extends tenantPrismaService(PrismaClient) implements OnModuleInit {
  /** Seed 003's `tenantSlug` property: the company of the current request. */
  get tenantSlug(): string | undefined {
    return currentTenant()?.slug;
  }

  async onModuleInit(): Promise<void> {
    await this.$connect(); // as Nest's recipe writes it: a no-op, Tenantry owns the connections
  }
}
