import { Inject, Injectable, Module } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import type { Tenancy } from '@tenantry/core';
import { path, TENANCY, type TenancyModuleOptions, type TenancyOptionsFactory } from '../dist/index.js';
import { asyncFixture } from './fixtures/app.js';
import { call, MIGRATIONS, setupHarness } from './helpers.js';

const h = await setupHarness();

const URL_TOKEN = Symbol('registry-url');

@Injectable()
class TenancyConfig implements TenancyOptionsFactory {
  constructor(@Inject(URL_TOKEN) private readonly url: string) {}
  createTenancyOptions(): TenancyModuleOptions {
    return { registryUrl: this.url, migrations: MIGRATIONS, resolvers: [path()] };
  }
}

describe('TenancyModule.forRootAsync (class)', () => {
  it('builds the options with useClass and routes /t/:slug/... requests', async () => {
    @Module({ providers: [{ provide: URL_TOKEN, useValue: h.db.url }], exports: [URL_TOKEN] })
    class UrlModule {}
    const { app, url } = await h.boot(asyncFixture({ imports: [UrlModule], useClass: TenancyConfig }));
    const tenancy = app.get<Tenancy>(TENANCY);
    await tenancy.tenants.create({ slug: 'initech', name: 'Initech' });
    const created = await call(`${url}/t/initech/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'tps report' }),
    });
    expect(created.status).toBe(201);
    expect((await call(`${url}/t/initech/notes`)).body).toEqual([{ body: 'tps report' }]);
  });

  it('builds the options with useExisting from an imported provider', async () => {
    @Module({ providers: [{ provide: URL_TOKEN, useValue: h.db.url }, TenancyConfig], exports: [TenancyConfig] })
    class ConfigModule {}
    const { url } = await h.boot(asyncFixture({ imports: [ConfigModule], useExisting: TenancyConfig }));
    expect((await call(`${url}/t/initech/notes`)).body).toEqual([{ body: 'tps report' }]);
  });
});
