import 'reflect-metadata';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Tenancy } from '@tenantry/core';
import { TENANCY, validationExceptionFactory } from '@tenantry/nestjs';
import { AppModule, type AppOptions } from './app.module.js';

/**
 * The Nest application, configured as `main.ts` serves it (the e2e tests boot the same). Before
 * it serves, tenants created before a migration was added get it (`tenancy.migrate()`).
 */
export async function createApp(options: AppOptions & { readonly logger?: false }): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(options), options.logger === false ? { logger: false } : {});
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true, exceptionFactory: validationExceptionFactory }));
  await app.init();
  const summary = await app.get<Tenancy>(TENANCY).migrate();
  if (!summary.ok) {
    await app.close();
    throw new Error(`migrating the tenants failed: ${summary.results.find((r) => r.error)?.error?.message}`);
  }
  return app;
}
