'use strict';
// README, "1. Configurar el Módulo Principal (forRoot)": ConfigModule first, the main TypeORM
// connection, then MultiTenantModule.forRoot with the database, autoCreateSchemas and the admin
// module (POST /admin/tenant creates a tenant: registry row in public.tenants + its schema).
require('./entities'); // "IMPORTAR PRIMERO para registrar entidades"
const { Module } = require('@nestjs/common');
const { ConfigModule } = require('@nestjs/config');
const { TypeOrmModule } = require('@nestjs/typeorm');
const { MultiTenantModule } = require('nestjs-multitenant');
const { PostsModule } = require('./posts.module');

/**
 * @param {{ host: string, port: number, username: string, password: string, database: string }} db
 * @param {boolean} synchronize README: "synchronize: true, // Solo en desarrollo" — on for the
 *   setup start only (it creates the package's public.tenants table), off when measured.
 */
function appModule(db, synchronize) {
  class AppModule {}
  Reflect.decorate(
    [
      Module({
        imports: [
          ConfigModule.forRoot({ isGlobal: true }),
          TypeOrmModule.forRoot({ type: 'postgres', ...db, schema: 'public', synchronize: true }),
          MultiTenantModule.forRoot({
            database: synchronize ? { ...db, synchronize: true } : db,
            autoCreateSchemas: true,
            enableAdminModule: true,
            platform: 'express',
          }),
          PostsModule,
        ],
      }),
    ],
    AppModule,
  );
  return AppModule;
}

module.exports = { appModule };
