import { Controller, Get } from '@nestjs/common';
import type { Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { InjectPrismaAdapter } from '@tenantry/prisma/nestjs';
import type { PrismaAdapter } from '@tenantry/prisma';
import type { PrismaClient } from '../generated/prisma/client.js';

/** `GET /health`: seed 003's excluded route; the registry answers. */
@Controller('health')
@SkipTenancy()
export class HealthController {
  constructor(@InjectTenancy() private readonly tenancy: Tenancy) {}

  @Get()
  async health(): Promise<{ status: 'ok'; registryMs: number }> {
    return { status: 'ok', registryMs: Math.round(await this.tenancy.ping()) };
  }
}

/**
 * `GET /admin/stats`: seed 003's `clientManager.getStats()` — the cached Prisma clients (one per
 * company, LRU, idle timeout) — and the connections per database server.
 */
@Controller('admin')
@SkipTenancy()
export class AdminStatsController {
  constructor(
    @InjectTenancy() private readonly tenancy: Tenancy,
    @InjectPrismaAdapter() private readonly prisma: PrismaAdapter<PrismaClient>,
  ) {}

  @Get('stats')
  stats(): { prismaClients: ReturnType<PrismaAdapter<PrismaClient>['stats']>; servers: ReturnType<Tenancy['stats']>['servers'] } {
    return { prismaClients: this.prisma.stats(), servers: this.tenancy.stats().servers };
  }
}
