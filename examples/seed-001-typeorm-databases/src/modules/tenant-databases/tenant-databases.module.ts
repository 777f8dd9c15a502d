import { Module } from '@nestjs/common';
import { TenantDatabasesController } from './tenant-databases.controller.js';

@Module({ controllers: [TenantDatabasesController] })
export class TenantDatabasesModule {}
