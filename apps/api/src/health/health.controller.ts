import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipTenancy } from '@tenantry/nestjs';
import { ReadinessProbe, type ReadinessReport } from './readiness.js';
import { HealthDto, ReadinessDto } from '../openapi/responses.dto.js';

interface StatusResponse {
  status(code: number): unknown;
}

/** Liveness and readiness, for load balancers and orchestrators. No tenant, no token. */
@ApiTags('health')
@SkipTenancy()
@Controller()
export class HealthController {
  readonly #readiness: ReadinessProbe;

  constructor(@Inject(ReadinessProbe) readiness: ReadinessProbe) {
    this.#readiness = readiness;
  }

  @Get('health')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Liveness: 200 while the process serves HTTP. Touches no database, so a database outage does not get the process restarted.',
  })
  @ApiOkResponse({ type: HealthDto })
  health(): { status: 'ok'; uptimeSeconds: number } {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Readiness: 200 when the registry and every server in use answer; 503 (degraded or down) with the failing checks otherwise.',
  })
  @ApiOkResponse({ type: ReadinessDto, description: 'ok' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'degraded or down: the failing checks' })
  async ready(@Res({ passthrough: true }) res: StatusResponse): Promise<ReadinessReport> {
    const report = await this.#readiness.check();
    if (report.status !== 'ok') res.status(503);
    return report;
  }
}
