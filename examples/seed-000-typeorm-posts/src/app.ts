import 'reflect-metadata';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { validationExceptionFactory } from '@tenantry/nestjs';
import { AppModule, type AppOptions } from './app.module.js';

/** The Nest application, configured as `main.ts` serves it (the e2e tests boot the same). */
export async function createApp(options: AppOptions & { readonly logger?: false }): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(options), options.logger === false ? { logger: false } : {});
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true, exceptionFactory: validationExceptionFactory }));
  return app;
}
