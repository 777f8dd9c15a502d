import { Module } from '@nestjs/common';
import { ConnectionMonitorService } from './connection-monitor.service.js';
import { MonitoringController } from './monitoring.controller.js';

@Module({ controllers: [MonitoringController], providers: [ConnectionMonitorService] })
export class MonitoringModule {}
