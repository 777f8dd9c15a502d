import 'reflect-metadata';
import { afterAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Tenancy, Tenant } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { createTestDatabase } from '@tenantry/testing';
import { KyselyAdapter } from '../dist/index.js';
import { KYSELY, KYSELY_ADAPTER } from '../dist/nestjs/index.js';
import { postsApp, PostsService, type PostRow } from './fixtures/posts-app.js';

const database = await createTestDatabase(inject('tenantryServerUrl'));
const admin = new pg.Client({ connectionString: database.url, application_name: 'kysely-nest-admin' });
await admin.connect();
let app: INestApplication | undefined;
afterAll(async () => {
  await app?.close();
  await admin.end();
  await database.drop();
});

interface Reply {
  readonly status: number;
  readonly body: any;
}

async function call(url: string, tenant: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { 'x-tenant-id': tenant, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text.length === 0 ? undefined : JSON.parse(text) };
}

// Creating 10 database tenants dominates (≈ 20 s alone, minutes when the whole suite shares 2 cores): a timeout of its own.
describe('@tenantry/kysely/nestjs: seed 000 posts service written with Kysely, over real HTTP', () => {
  it(
    '20 tenants (10 schema, 10 database) × 200 concurrent requests: each response holds only its tenant’s rows; a transaction that throws leaves nothing',
    { timeout: 240_000 },
    async () => {
      app = await NestFactory.create(postsApp(database.url, 'kysely-nest') as never, { logger: false, abortOnError: false });
      await app.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      const tenancy = app.get<Tenancy>(TENANCY);
      // Singletons: the service is not request-scoped (app.get would refuse it), and holds the adapter's one Kysely.
      expect(app.get(PostsService)).toBeInstanceOf(PostsService);
      const adapter = app.get<KyselyAdapter>(KYSELY_ADAPTER);
      expect(adapter).toBeInstanceOf(KyselyAdapter);
      expect(app.get(KYSELY)).toBe(adapter.db);

      const tenants: Tenant[] = [];
      for (let i = 0; i < 20; i++)
        tenants.push(await tenancy.tenants.create({ slug: `blog-${i}`, name: `Blog ${i}`, isolation: i < 10 ? 'schema' : 'database' }));

      // Seed 000's walk-through: each tenant posts, by id or by slug.
      const created = new Map<string, string[]>(tenants.map((t) => [t.slug, []]));
      await Promise.all(
        tenants.flatMap((t, i) =>
          [0, 1, 2].map(async (k) => {
            const res = await call(`${url}/posts`, i % 2 === 0 ? t.id : t.slug, {
              method: 'POST',
              body: { title: `${t.slug}: post ${k}`, content: `${t.slug} content`, published: k !== 1 },
            });
            expect(res.status).toBe(201);
            expect(res.body).toMatchObject({ title: `${t.slug}: post ${k}`, published: k !== 1 });
            expect(typeof res.body.createdAt).toBe('string'); // CamelCasePlugin over created_at
            created.get(t.slug)!.push(res.body.id);
          }),
        ),
      );

      const own = (t: Tenant, rows: PostRow[]): void => {
        for (const row of rows) expect(row.title.startsWith(`${t.slug}: `)).toBe(true);
      };
      let failedBatches = 0;
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const t = tenants[(i * 7) % tenants.length]!;
          const other = tenants[(i * 7 + 1) % tenants.length]!;
          let res: Reply;
          switch (i % 5) {
            case 0:
              res = await call(`${url}/posts`, t.slug);
              expect(res.status).toBe(200);
              expect(res.body.length).toBeGreaterThanOrEqual(3);
              own(t, res.body);
              break;
            case 1:
              res = await call(`${url}/posts/published`, t.id);
              expect(res.status).toBe(200);
              expect(res.body.length).toBeGreaterThanOrEqual(2);
              own(t, res.body);
              for (const row of res.body as PostRow[]) expect(row.published).toBe(true);
              break;
            case 2: {
              res = await call(`${url}/posts`, t.slug, { method: 'POST', body: { title: `${t.slug}: more ${i}`, content: 'more' } });
              expect(res.status).toBe(201);
              expect(res.body).toMatchObject({ title: `${t.slug}: more ${i}`, published: false });
              created.get(t.slug)!.push(res.body.id);
              break;
            }
            case 3: {
              // Another tenant's post, by its id: not found here.
              res = await call(`${url}/posts/${created.get(other.slug)![0]}`, t.slug);
              expect(res.status).toBe(404);
              res = await call(`${url}/posts/${created.get(t.slug)![0]}`, t.slug);
              expect(res.status).toBe(200);
              own(t, [res.body]);
              break;
            }
            default: {
              // A transaction that throws after two inserts.
              res = await call(`${url}/posts/batch`, t.slug, {
                method: 'POST',
                body: { posts: [0, 1, 2].map((k) => ({ title: `${t.slug}: lost ${i}.${k}`, content: 'lost' })), failAfter: 2 },
              });
              expect(res.status).toBe(500);
              failedBatches++;
            }
          }
          statuses.push(res.status);
        }),
      );
      expect(statuses).toHaveLength(200);
      expect(failedBatches).toBe(40);

      // Afterwards, through HTTP and straight from each tenant's tables: exactly what was created, nothing of the failed batches.
      for (const t of tenants) {
        const res = await call(`${url}/posts`, t.slug);
        own(t, res.body);
        expect((res.body as PostRow[]).map((r) => r.id).sort()).toEqual([...created.get(t.slug)!].sort());
        const lost = await tenancy.withTenant(
          t.id,
          async (db) => (await db.query("select count(*)::int as n from posts where content = 'lost'")).rows[0],
        );
        expect(lost).toEqual({ n: 0 });
      }
      // A committed batch is kept whole; update and delete reach the tenant's row only.
      const [a, b] = [tenants[0]!, tenants[10]!];
      const batch = await call(`${url}/posts/batch`, a.slug, {
        method: 'POST',
        body: { posts: [{ title: `${a.slug}: kept`, content: 'k' }] },
      });
      expect(batch.status).toBe(201);
      const id = batch.body[0].id as string;
      expect((await call(`${url}/posts/${id}`, b.slug, { method: 'PATCH', body: { published: true } })).status).toBe(404);
      expect((await call(`${url}/posts/${id}`, a.slug, { method: 'PATCH', body: { published: true } })).body).toMatchObject({
        published: true,
      });
      expect((await call(`${url}/posts/${id}`, b.slug, { method: 'DELETE' })).status).toBe(404);
      expect((await call(`${url}/posts/${id}`, a.slug, { method: 'DELETE' })).status).toBe(204);
      expect((await call(`${url}/posts/${id}`, a.slug)).status).toBe(404);

      // Every connection was Tenantry's, within its budget of 8 per server (and its registry listener).
      const { rows } = await admin.query<{ app: string; n: number }>(
        "select application_name as app, count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and (datname = $1 or datname like 't\\_%') group by 1",
        [database.name],
      );
      expect(rows.find((r) => r.app === '')).toBeUndefined();
      expect(rows.filter((r) => r.app.startsWith('kysely-nest')).reduce((n, r) => n + r.n, 0)).toBeLessThanOrEqual(8 + 1);
      // No request scope anywhere: Kysely is one instance for the application.
      expect(app.get(KYSELY)).toBe(adapter.db);
    },
  );
});
