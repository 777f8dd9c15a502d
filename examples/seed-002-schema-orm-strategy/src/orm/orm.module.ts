import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TenantryDrizzleModule } from '@tenantry/drizzle/nestjs';
import { tenantryTypeOrm } from '@tenantry/typeorm/nestjs';
import type { OrmConfig } from './orm-config.js';
import { ORM_STRATEGY } from './orm-strategy.interface.js';
import * as schema from './drizzle/schema.js';
import { DrizzleStrategy } from './drizzle/drizzle.strategy.js';
import { TypeOrmStrategy } from './typeorm/typeorm.strategy.js';
import { UserEntity } from './typeorm/user.entity.js';

/**
 * Seed 002's ORM abstraction layer: the ORM of `OrmConfig.type`, wired the way that ORM is wired
 * on Tenantry, and the matching strategy as {@link ORM_STRATEGY}. Only the chosen ORM is set up.
 */
@Global()
@Module({})
export class OrmModule {
  static forRoot(config: OrmConfig): DynamicModule {
    if (config.type === 'typeorm') {
      return {
        module: OrmModule,
        imports: [TypeOrmModule.forRootAsync(tenantryTypeOrm({ entities: [UserEntity] })), TypeOrmModule.forFeature([UserEntity])],
        providers: [TypeOrmStrategy, { provide: ORM_STRATEGY, useExisting: TypeOrmStrategy }],
        exports: [ORM_STRATEGY],
      };
    }
    return {
      module: OrmModule,
      imports: [TenantryDrizzleModule.forRoot({ schema })],
      providers: [DrizzleStrategy, { provide: ORM_STRATEGY, useExisting: DrizzleStrategy }],
      exports: [ORM_STRATEGY],
    };
  }
}
