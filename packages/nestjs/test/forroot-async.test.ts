import { Inject, Injectable, Module } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import type { Tenancy } from '@tenantry/core';
import { header, TENANCY, TENANCY_MODULE_OPTIONS, type TenancyModuleOptions } from '../dist/index.js';
import { asyncFixture, DroppedContextModule } from './fixtures/app.js';
import { call, MIGRATIONS, setupHarness } from './helpers.js';

const h = await setupHarness();

const SETTINGS = Symbol('settings');

/** Stands in for a ConfigModule: what the factory reads its options from. */
@Injectable()
class Settings {
  constructor(@Inject(SETTINGS) readonly values: { url: string; tenantHeader: string }) {}
}

function settingsModule(values: { url: string; tenantHeader: string }) {
  @Module({ providers: [{ provide: SETTINGS, useValue: values }, Settings], exports: [Settings] })
  class SettingsModule {}
  return SettingsModule;
}

describe('TenancyModule.forRootAsync (factory)', () => {
  it('builds the options with a factory that injects from imported modules, and routes requests', async () => {
    const { app, url } = await h.boot(
      asyncFixture({
        imports: [settingsModule({ url: h.db.url, tenantHeader: 'x-org' })],
        inject: [Settings],
        useFactory: async (settings: Settings) => ({
          registryUrl: settings.values.url,
          migrations: MIGRATIONS,
          resolvers: [header(settings.values.tenantHeader)],
        }),
      }),
    );
    const tenancy = app.get<Tenancy>(TENANCY);
    expect(app.get<TenancyModuleOptions>(TENANCY_MODULE_OPTIONS).resolvers).toHaveLength(1);
    await tenancy.tenants.create({ slug: 'acme', name: 'Acme' });
    await tenancy.tenants.create({ slug: 'globex', name: 'Globex' });
    await call(`${url}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org': 'acme' },
      body: JSON.stringify({ body: 'acme note' }),
    });
    expect((await call(`${url}/notes`, { headers: { 'x-org': 'acme' } })).body).toEqual([{ body: 'acme note' }]);
    expect((await call(`${url}/notes`, { headers: { 'x-org': 'globex' } })).body).toEqual([]);
    // The configured header replaces the default: x-tenant-id means nothing here.
    const missing = await call(`${url}/notes`, { headers: { 'x-tenant-id': 'acme' } });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ statusCode: 400, code: 'TENANT_REQUIRED', message: 'Tenant ID is missing: looked in x-org header' });
  });

  it('reports a factory that returns bad options when the application boots', async () => {
    await expect(
      h.boot(asyncFixture({ useFactory: () => ({ registryUrl: h.db.url, resolvers: 'header' as never }) })),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('needs exactly one of useFactory, useClass, useExisting', () => {
    expect(() => asyncFixture({})).toThrow(/exactly one of useFactory, useClass or useExisting/);
  });

  it('can leave exception mapping to the application (exceptionFilter: false)', async () => {
    const { url } = await h.boot(
      asyncFixture({ exceptionFilter: false, useFactory: () => ({ registryUrl: h.db.url, migrations: MIGRATIONS }) }),
    );
    const res = await call(`${url}/notes`, { headers: { 'x-tenant-id': 'acme' } });
    expect(res.status).toBe(200);
    // A Tenantry error is not an HttpException: without the filter Nest answers a plain 500.
    const missing = await call(`${url}/notes`);
    expect(missing.status).toBe(500);
    expect(missing.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });

  it('takes contextInterceptor beside useFactory: without the interceptor the guard refuses a dropped context', async () => {
    const { url } = await h.boot(
      asyncFixture({ contextInterceptor: false, useFactory: () => ({ registryUrl: h.db.url, migrations: MIGRATIONS }) }, [
        DroppedContextModule,
      ]),
    );
    expect((await call(`${url}/notes`, { headers: { 'x-tenant-id': 'acme' } })).status).toBe(200);
    const dropped = await call(`${url}/dropped`, { headers: { 'x-tenant-id': 'acme' } });
    expect(dropped.status).toBe(500);
    expect(dropped.body).toMatchObject({ code: 'INTERNAL' });
  });
});
