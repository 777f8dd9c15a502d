/**
 * Seed 000's posts API end to end, over real HTTP: the suite drizzle-posts passes. Vitest runs
 * this file as TypeScript; it is not part of the `tsc -b` build.
 */
import { describe, expect, it } from 'vitest';
import type { ExampleApp, ExampleAppOptions } from '../src/index.js';
import { serveExample } from './serve-example.js';

export interface Seed000PostsApiSpec {
  /** The example's `createPostsApp`. */
  readonly createApp: (options: ExampleAppOptions) => Promise<ExampleApp>;
  /** The name of the example's (last) migration, which a new tenant reports as its `schemaVersion`. */
  readonly schemaVersion: string;
}

/**
 * Await at the top of a test file: starts the app on a pool of 4 connections in the file's own
 * database, then declares the suite.
 *
 * @example
 * ```ts
 * await describeSeed000PostsApi('drizzle-posts example (real HTTP)', { createApp: createPostsApp, schemaVersion: '0000_create_posts' });
 * ```
 */
export async function describeSeed000PostsApi(name: string, { createApp, schemaVersion }: Seed000PostsApiSpec): Promise<void> {
  const served = await serveExample((test) => createApp({ ...test, poolMax: 4 }));
  const { errors } = served;
  /** A request in the tenant `tenant` (id or slug), sent as seed 000's `x-tenant-id` header. */
  const call = (path: string, { tenant, ...init }: { method?: string; tenant?: string; body?: unknown } = {}) =>
    served.call(path, { ...init, headers: tenant === undefined ? {} : { 'x-tenant-id': tenant } });

  describe(name, () => {
    it("serves seed 000's posts API per tenant, for schema and database tenants", async () => {
      const a = await call('/tenants', { method: 'POST', body: { name: 'Tenant A', subdomain: 'tenant-a' } });
      expect(a).toMatchObject({ status: 201, body: { slug: 'tenant-a', status: 'ACTIVE', schemaVersion } });
      const b = await call('/tenants', { method: 'POST', body: { name: 'Tenant B', isolation: 'database' } });
      expect(b).toMatchObject({ status: 201, body: { slug: 'tenant-b', isolation: 'database' } });

      const created = await call('/posts', {
        method: 'POST',
        tenant: a.body.id,
        body: { title: 'Tenant A Post', content: 'A content', published: true },
      });
      expect(created).toMatchObject({ status: 201, body: { title: 'Tenant A Post', published: true } });
      expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
      await call('/posts', { method: 'POST', tenant: 'tenant-a', body: { title: 'A draft', content: 'draft' } });
      await call('/posts', { method: 'POST', tenant: 'tenant-b', body: { title: 'Tenant B Post', content: 'B content', published: true } });

      const listA = await call('/posts', { tenant: 'tenant-a' });
      expect(listA.body.map((p: { title: string }) => p.title)).toEqual(['A draft', 'Tenant A Post']);
      expect((await call('/posts/published', { tenant: 'tenant-a' })).body.map((p: { title: string }) => p.title)).toEqual([
        'Tenant A Post',
      ]);
      expect((await call('/posts', { tenant: b.body.id })).body.map((p: { title: string }) => p.title)).toEqual(['Tenant B Post']);

      // Tenant B cannot reach tenant A's post by id.
      expect((await call(`/posts/${created.body.id}`, { tenant: 'tenant-b' })).status).toBe(404);
      expect((await call(`/posts/${created.body.id}`, { tenant: 'tenant-a' })).body.title).toBe('Tenant A Post');
      const patched = await call(`/posts/${created.body.id}`, { method: 'PATCH', tenant: 'tenant-a', body: { published: false } });
      expect(patched).toMatchObject({ status: 200, body: { published: false, title: 'Tenant A Post' } });
      expect((await call('/posts/published', { tenant: 'tenant-a' })).body).toEqual([]);
      expect((await call(`/posts/${created.body.id}`, { method: 'DELETE', tenant: 'tenant-b' })).status).toBe(404);
      expect((await call(`/posts/${created.body.id}`, { method: 'DELETE', tenant: 'tenant-a' })).status).toBe(204);
      expect((await call('/posts', { tenant: 'tenant-a' })).body).toHaveLength(1);
    });

    it('answers without a tenant, with an unknown tenant and with bad input as seed 000 and Tenantry do', async () => {
      expect(await call('/posts')).toEqual({
        status: 400,
        body: { statusCode: 400, message: 'Tenant ID is missing in x-tenant-id header' },
      });
      expect(await call('/posts', { tenant: 'nobody-here' })).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
      expect(await call('/posts', { tenant: "x'; drop table posts;--" })).toMatchObject({
        status: 400,
        body: { code: 'INVALID_TENANT_ID' },
      });
      expect((await call('/posts', { method: 'POST', tenant: 'tenant-a', body: { title: '' } })).status).toBe(400);
      expect((await call('/posts', { method: 'POST', tenant: 'tenant-a', body: { title: 'nul\u0000', content: 'x' } })).status).toBe(400);
      expect((await call('/posts/not-a-uuid', { tenant: 'tenant-a' })).status).toBe(404);
    });

    it('60 concurrent requests over 3 tenants on a pool of 4: each sees only its own posts', async () => {
      await call('/tenants', { method: 'POST', body: { name: 'Tenant C' } });
      const slugs = ['tenant-a', 'tenant-b', 'tenant-c'];
      const before = await Promise.all(slugs.map(async (s) => (await call('/posts', { tenant: s })).body.length as number));
      await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const s = slugs[i % 3]!;
          if (i % 2 === 0)
            expect((await call('/posts', { method: 'POST', tenant: s, body: { title: `${s} #${i}`, content: s } })).status).toBe(201);
          else
            for (const p of (await call('/posts', { tenant: s })).body as { content: string }[])
              expect([s, 'A content', 'B content', 'draft']).toContain(p.content);
        }),
      );
      for (const [i, s] of slugs.entries()) {
        const posts = (await call('/posts', { tenant: s })).body as { title: string }[];
        expect(posts.length).toBe(before[i]! + 10);
        for (const p of posts.filter((x) => x.title.includes('#'))) expect(p.title.startsWith(`${s} #`)).toBe(true);
      }
      expect(errors).toEqual([]);
    });
  });
}
