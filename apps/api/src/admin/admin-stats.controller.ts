import { Controller, Get, Header, Inject, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ServerStats, Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { TenancyMetrics } from '@tenantry/nestjs/metrics';
import { AdminGuard } from '../auth/admin.guard.js';
import { StatsQuery } from './admin-stats.dto.js';
import { StatsDto } from '../openapi/responses.dto.js';
import { ADMIN_ERRORS, ApiErrors, PARAM_ERRORS, SERVICE_ERRORS } from '../openapi/api-errors.js';

type PoolJson = Omit<ServerStats, 'server'>;

function pool(stats: ServerStats | undefined): PoolJson | null {
  if (stats === undefined) return null;
  const { server: _server, ...figures } = stats;
  return figures;
}

/**
 * `GET /admin/stats`: the fleet's figures for operators — what Prometheus gets, plus what must
 * not be a metric label: per-tenant activity.
 */
@ApiTags('admin: stats')
@ApiBearerAuth('admin')
@SkipTenancy()
@UseGuards(AdminGuard)
@Controller('admin')
export class AdminStatsController {
  readonly #tenancy: Tenancy;
  readonly #metrics: TenancyMetrics;

  constructor(@InjectTenancy() tenancy: Tenancy, @Inject(TenancyMetrics) metrics: TenancyMetrics) {
    this.#tenancy = tenancy;
    this.#metrics = metrics;
  }

  @Get('stats')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary:
      'Pools per server (connections, waiting callers, evictions, tenants in use against their plan share…), registry cache, tenants by status, migrations, plans, the pending-tenant pool, busiest tenants.',
  })
  @ApiOkResponse({ type: StatsDto })
  @ApiErrors(ADMIN_ERRORS, PARAM_ERRORS, SERVICE_ERRORS)
  async stats(@Query() query: StatsQuery): Promise<Record<string, unknown>> {
    const [byStatus, servers, migrations, pending] = await Promise.all([
      this.#tenancy.tenants.countByStatus(),
      this.#tenancy.servers.list(),
      this.#tenancy.migrationStatus(),
      this.#tenancy.tenants.pendingPool(),
    ]);
    const { servers: pools, cache } = this.#tenancy.stats();
    const byId = new Map(pools.map((p) => [p.server, p]));
    const sum = (pick: (s: ServerStats) => number): number => pools.reduce((n, s) => n + pick(s), 0);
    return {
      at: new Date().toISOString(),
      connections: {
        inUse: sum((s) => s.inUse),
        idle: sum((s) => s.idle),
        total: sum((s) => s.total),
        waiting: sum((s) => s.waiting),
        max: sum((s) => s.max),
      },
      servers: servers.map((s) => ({
        id: s.id,
        host: s.host,
        capacity: s.capacity,
        draining: s.draining,
        tenants: s.tenants,
        pool: pool(byId.get(s.id)),
        replica: pool(byId.get(`${s.id}:replica`)),
      })),
      cache,
      // `live`: every tenant but the DELETED rows the registry keeps.
      tenants: { live: Object.values(byStatus).reduce((n, c) => n + c, 0) - byStatus.DELETED, byStatus },
      migrations: {
        latest: migrations.latest,
        pending: migrations.pending,
        migrating: migrations.migrating,
        failed: migrations.failed.length,
      },
      plans: this.#tenancy.plans.list(),
      pendingTenants: pending ?? null,
      busiestTenants: this.#metrics.tenantUsage(query.top ?? 10),
    };
  }
}
