import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Tenancy } from '@tenantry/core';
import { InjectTenancy, SkipTenancy } from '@tenantry/nestjs';
import { ApiStore } from '../store/api-store.js';

interface StatusResponse {
  status(code: number): unknown;
}

/** Liveness and registry reachability. No tenant, no token. */
@ApiTags('health')
@SkipTenancy()
@Controller('health')
export class HealthController {
  readonly #tenancy: Tenancy;
  readonly #store: ApiStore;

  constructor(@InjectTenancy() tenancy: Tenancy, @Inject(ApiStore) store: ApiStore) {
    this.#tenancy = tenancy;
    this.#store = store;
  }

  @Get()
  @ApiOperation({ summary: '200 when the registry answers, 503 otherwise.' })
  async health(@Res({ passthrough: true }) res: StatusResponse): Promise<Record<string, unknown>> {
    const started = performance.now();
    let error: string | undefined;
    try {
      // Through Tenantry's own pool: the registry tables answer.
      await this.#tenancy.tenants.list({ limit: 1 });
      await this.#store.ping();
    } catch (err) {
      error = err instanceof Error && 'code' in err ? String((err as { code: unknown }).code) : 'UNREACHABLE';
    }
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const stats = this.#tenancy.stats();
    if (error !== undefined) res.status(503);
    return {
      status: error === undefined ? 'ok' : 'unavailable',
      registry: error === undefined ? { reachable: true, latencyMs } : { reachable: false, error },
      pool: stats.servers.map((s) => ({ server: s.server, total: s.total, idle: s.idle, waiting: s.waiting, max: s.max })),
      cache: stats.cache,
    };
  }
}
