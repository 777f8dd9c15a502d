import 'reflect-metadata';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Tenancy } from '@tenantry/core';
import { TENANCY, validationExceptionFactory } from '@tenantry/nestjs';
import { AppModule, type AppOptions } from './app.module.js';
import { TENANT_SERVER } from './tenant-server.js';

/**
 * Registers (or updates) the server tenant databases are made on, {@link TENANT_SERVER}: the
 * registry's own PostgreSQL, with `readReplicaUrl` as its read replica. Tenantry's `default`
 * server (the registry's) does not pick up a replica (its pools are made from the registry URL
 * alone), hence a server of its own for the tenants.
 */
async function registerTenantServer(tenancy: Tenancy, url: string, replicaUrl: string | null): Promise<void> {
  const known = (await tenancy.servers.list()).some((s) => s.id === TENANT_SERVER);
  if (known) await tenancy.servers.update(TENANT_SERVER, { url, replicaUrl });
  else await tenancy.servers.add({ id: TENANT_SERVER, url, replicaUrl });
}

/**
 * The Nest application, configured as `main.ts` serves it (the e2e tests boot the same): the
 * tenants' server is registered, with its read replica, before the app serves.
 */
export async function createApp(options: AppOptions & { readonly logger?: false }): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(options), options.logger === false ? { logger: false } : {});
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true, exceptionFactory: validationExceptionFactory }));
  await app.init();
  try {
    await registerTenantServer(app.get<Tenancy>(TENANCY), options.registryUrl, options.readReplicaUrl ?? null);
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}
