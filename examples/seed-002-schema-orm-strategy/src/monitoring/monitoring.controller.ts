import { Controller, DefaultValuePipe, Get, ParseIntPipe, Query } from '@nestjs/common';
import { SkipTenancy } from '@tenantry/nestjs';
import { ConnectionMonitorService, type ConnectionMetrics } from './connection-monitor.service.js';

/** Connection monitoring: no tenant (`@SkipTenancy()`); an operator's route. */
@Controller('monitoring')
@SkipTenancy()
export class MonitoringController {
  constructor(private readonly connectionMonitor: ConnectionMonitorService) {}

  /** Active, idle and total connections, per server and in all; the `limit` most active tenants (default 20). */
  @Get('connections')
  connections(@Query('limit', new DefaultValuePipe(20), ParseIntPipe) limit: number): ConnectionMetrics {
    return this.connectionMonitor.getConnectionMetrics(Math.min(Math.max(limit, 0), 1000));
  }
}
