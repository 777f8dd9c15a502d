import 'reflect-metadata';
import { afterAll, describe, expect, it } from 'vitest';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken, getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import type { Tenancy, Tenant } from '@tenantry/core';
import { TENANCY, TenancyModule } from '@tenantry/nestjs';
import { typeormMigrations } from '../dist/index.js';
import { outsideTenancy, tenantryTypeOrm } from '../dist/nestjs/index.js';
import { AppModule, CreatePosts1700000000100, Post, PostsModule } from './fixtures/nest-posts.js';
import { setupHarness } from './helpers.js';

const h = await setupHarness();
const apps: INestApplication[] = [];
afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
});

async function create(module: object): Promise<INestApplication> {
  const app = await NestFactory.create(module as never, { logger: false, abortOnError: false });
  apps.push(app);
  return app;
}

async function boot(module: object): Promise<{ app: INestApplication; url: string }> {
  const app = await create(module);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

async function call(url: string, tenant: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { 'x-tenant-id': tenant, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text.length === 0 ? undefined : JSON.parse(text) };
}

/** A module beside TenancyModule, as a user might write it instead of tenantryTypeOrm(). */
function besideTenancy(typeorm: DynamicModule): DynamicModule {
  @Module({})
  class UnsafeAppModule {}
  return {
    module: UnsafeAppModule,
    imports: [
      TenancyModule.forRoot({
        registryUrl: h.db.url,
        migrations: typeormMigrations({ migrations: [CreatePosts1700000000100] }),
        applicationName: 'nest-typeorm-unsafe',
      }),
      typeorm,
      PostsModule,
    ],
  };
}

async function publicPostsTable(): Promise<string | null> {
  return (await h.admin.query<{ t: string | null }>(`select to_regclass('public.posts')::text as t`)).rows[0]!.t;
}

describe('@nestjs/typeorm on Tenantry (TypeOrmModule.forRootAsync(tenantryTypeOrm()))', () => {
  let url: string;
  let tenancy: Tenancy;
  let dataSource: DataSource;
  const tenants: Tenant[] = [];

  it('200 concurrent requests over 20 tenants (10 schema, 10 database) each answer only their own tenant’s posts', async () => {
    const booted = await boot(AppModule.forRoot(h.db.url, 10));
    url = booted.url;
    tenancy = booted.app.get<Tenancy>(TENANCY);
    dataSource = booted.app.get<DataSource>(getDataSourceToken());
    for (let i = 0; i < 20; i++) {
      tenants.push(await tenancy.tenants.create({ slug: `nest-${i}`, name: `Nest ${i}`, isolation: i % 2 === 0 ? 'schema' : 'database' }));
    }
    // Seed 000's contract: POST /posts with x-tenant-id (an id or a slug).
    await Promise.all(
      tenants.map(async (t) => {
        expect(
          (await call(`${url}/posts`, t.id, { method: 'POST', body: { title: `${t.slug} published`, content: 'p', published: true } }))
            .status,
        ).toBe(201);
        expect((await call(`${url}/posts`, t.slug, { method: 'POST', body: { title: `${t.slug} draft`, content: 'd' } })).status).toBe(201);
      }),
    );

    const replies = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const t = tenants[i % 20]!;
        const path = i % 4 < 2 ? '/posts' : '/posts/published';
        return { t, path, reply: await call(`${url}${path}`, i % 3 === 0 ? t.id : t.slug) };
      }),
    );
    for (const { t, path, reply } of replies) {
      expect(reply.status).toBe(200);
      const titles = (reply.body as Post[]).map((p) => p.title);
      expect(titles.sort()).toEqual(path === '/posts' ? [`${t.slug} draft`, `${t.slug} published`] : [`${t.slug} published`]);
    }
    // Tenantry's connections only: TypeORM made no pool of its own, and nothing landed in the registry's public schema.
    expect(dataSource.isInitialized).toBe(true);
    expect((dataSource.driver as unknown as { master?: unknown }).master).toBeUndefined();
    expect(await publicPostsTable()).toBeNull();
  });

  it('@InjectDataSource, @InjectEntityManager and custom repositories (extend() and a Repository subclass) run in the request’s tenant', async () => {
    const schemaTenant = tenants.find((t) => t.isolation === 'schema')!;
    const databaseTenant = tenants.find((t) => t.isolation === 'database')!;
    const registryDatabase = (await h.admin.query<{ d: string }>('select current_database() as d')).rows[0]!.d;
    for (const t of [schemaTenant, databaseTenant]) {
      const reply = await call(`${url}/reports`, t.slug);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        viaDataSource: 2,
        viaManager: 2,
        published: [`${t.slug} published`],
        titles: [`${t.slug} draft`, `${t.slug} published`],
      });
      if (t.isolation === 'schema') expect(reply.body.where).toEqual({ database: registryDatabase, schema: t.physicalName });
      else expect(reply.body.where).toEqual({ database: t.physicalName, schema: 'public' });
    }
  });

  it('a dataSource.transaction() that throws leaves nothing; one that returns keeps its rows', async () => {
    const t = tenants[3]!;
    const failed = await call(`${url}/reports/failing-batch`, t.slug, { method: 'POST', body: { titles: ['lost 1', 'lost 2'] } });
    expect(failed).toMatchObject({ status: 409, body: { code: 'BATCH_FAILED' } });
    expect(((await call(`${url}/posts`, t.slug)).body as Post[]).map((p) => p.title).sort()).toEqual([
      `${t.slug} draft`,
      `${t.slug} published`,
    ]);

    const kept = await call(`${url}/reports/batch`, t.slug, { method: 'POST', body: { titles: ['kept 1', 'kept 2'] } });
    expect(kept).toMatchObject({ status: 201, body: { count: 4 } });
    expect((await call(`${url}/posts`, t.slug)).body).toHaveLength(4);
    // and in no other tenant
    expect((await call(`${url}/posts`, tenants[4]!.slug)).body).toHaveLength(2);
  });

  it('shutdown destroys the DataSource and closes the tenancy', async () => {
    const { app } = await boot(AppModule.forRoot(h.db.url, 2));
    const ds = app.get<DataSource>(getDataSourceToken());
    const own = app.get<Tenancy>(TENANCY);
    await app.close();
    expect(ds.isInitialized).toBe(false);
    await expect(own.withTenant('nest-0', async () => 1)).rejects.toMatchObject({ code: 'TENANCY_CLOSED' });
  });
});

describe('a named data source', () => {
  it("tenantryTypeOrm({ name, useFactory }) serves forFeature([Post], name) in the context's tenant", async () => {
    @Module({ imports: [TypeOrmModule.forFeature([Post], 'app')] })
    class NamedPostsModule {}
    @Module({})
    class NamedApp {}
    const { app } = await boot({
      module: NamedApp,
      imports: [
        TenancyModule.forRoot({
          registryUrl: h.db.url,
          migrations: typeormMigrations({ migrations: [CreatePosts1700000000100] }),
          applicationName: 'nest-typeorm-named',
        }),
        TypeOrmModule.forRootAsync(tenantryTypeOrm({ name: 'app', useFactory: () => ({ entities: [Post], uuidExtension: 'pgcrypto' }) })),
        NamedPostsModule,
      ],
    });
    const tenancy = app.get<Tenancy>(TENANCY);
    const posts = app.get<Repository<Post>>(getRepositoryToken(Post, 'app'));
    expect(app.get<DataSource>(getDataSourceToken('app')).isInitialized).toBe(true);
    const [a, b] = [
      await tenancy.tenants.create({ slug: 'named-a', name: 'A' }),
      await tenancy.tenants.create({ slug: 'named-b', name: 'B' }),
    ];
    await tenancy.run(a!.id, () => posts.save(posts.create({ title: 'only in a', content: 'x' })));
    expect(await tenancy.run(a!.id, () => posts.count())).toBe(1);
    expect(await tenancy.run(b!.id, () => posts.count())).toBe(0);
  });
});

describe('unsafe TypeORM wirings are refused at start', () => {
  it('tenantryTypeOrm() refuses connection options and schema-changing options, saying what to write instead', () => {
    expect(() => tenantryTypeOrm({ synchronize: true } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining("remove 'synchronize' from tenantryTypeOrm() options"),
      }),
    );
    expect(() => tenantryTypeOrm({ dropSchema: true } as never)).toThrow(/remove 'dropSchema'.*typeormMigrations\(\)/);
    expect(() => tenantryTypeOrm({ migrationsRun: true } as never)).toThrow(/remove 'migrationsRun'/);
    expect(() => tenantryTypeOrm({ url: 'postgres://localhost/app' } as never)).toThrow(
      /remove 'url'.*Tenantry supplies TypeORM's connections/,
    );
    expect(() => tenantryTypeOrm({ schema: 'public' } as never)).toThrow(/remove 'schema'/);
    expect(() => tenantryTypeOrm({ type: 'mysql' } as never)).toThrow(/type 'postgres'/);
    expect(() => tenantryTypeOrm({ migrations: [CreatePosts1700000000100] } as never)).toThrow(/typeormMigrations/);
  });

  it('a plain TypeOrmModule.forRoot beside TenancyModule is refused at start, and TypeORM changes no schema', async () => {
    const unsafe = besideTenancy(
      TypeOrmModule.forRoot({ type: 'postgres', url: h.db.url, entities: [Post], synchronize: true, retryAttempts: 1, retryDelay: 10 }),
    );
    const err = await create(unsafe).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const message = (err as Error).message;
    expect(message).toContain('TypeOrmModule.forRoot() beside TenancyModule opens a TypeORM pool of its own');
    expect(message).toContain('synchronize');
    expect(message).toContain(
      "TypeOrmModule.forRootAsync(tenantryTypeOrm({ entities: [...] })) — import { tenantryTypeOrm } from '@tenantry/typeorm/nestjs'",
    );
    // TypeORM never synchronized: no posts table was made in the registry database's public schema.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await publicPostsTable()).toBeNull();
  });

  it('TypeOrmModule.forRootAsync with synchronize is refused when its options factory returns, before the DataSource is made', async () => {
    const unsafe = besideTenancy(
      TypeOrmModule.forRootAsync({
        useFactory: () => ({ type: 'postgres' as const, url: h.db.url, entities: [Post], synchronize: true, retryAttempts: 1 }),
      }),
    );
    await expect(create(unsafe)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^remove synchronize from the TypeORM options of data source 'default'.*tenantryTypeOrm/),
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await publicPostsTable()).toBeNull();
  });

  it('a DataSource that Tenantry did not prepare (forRootAsync without tenantryTypeOrm) fails app.init()', async () => {
    const unsafe = besideTenancy(
      TypeOrmModule.forRootAsync({ useFactory: () => ({ type: 'postgres' as const, url: h.db.url, entities: [Post], retryAttempts: 1 }) }),
    );
    const app = await create(unsafe);
    await expect(app.init()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(
        'a TypeORM DataSource beside TenancyModule was not prepared by Tenantry (provider DataSource of TypeOrmCoreModule)',
      ),
    });
  });

  it('a database marked outsideTenancy() may keep its own TypeOrmModule.forRoot', async () => {
    @Module({})
    class WithWarehouse {}
    const { app } = await boot({
      module: WithWarehouse,
      imports: [
        AppModule.forRoot(h.db.url, 2),
        TypeOrmModule.forRoot(
          outsideTenancy({ name: 'warehouse', type: 'postgres' as const, url: h.db.url, entities: [], retryAttempts: 1 }),
        ),
      ],
    });
    expect(app.get<DataSource>(getDataSourceToken('warehouse')).isInitialized).toBe(true);
  });
});
