import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { serve } from './serve.js';

const { call, db } = await serve(4);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('seed 000 on Tenantry: /tenants and /posts over real HTTP', () => {
  it('POST /tenants makes a schema tenant with the tenant migrations applied; GET /tenants and /tenants/:id read it', async () => {
    const a = await call('/tenants', { method: 'POST', body: { name: 'Acme Corp', subdomain: 'acme' } });
    expect(a).toMatchObject({
      status: 201,
      body: { name: 'Acme Corp', subdomain: 'acme', status: 'ACTIVE', schemaVersion: 'CreatePosts1700000000000' },
    });
    expect(a.body.id).toMatch(UUID);
    expect(a.body.schema).toBe(`t_${a.body.id.replaceAll('-', '')}`);
    // Without a subdomain, the slug comes from the name.
    expect((await call('/tenants', { method: 'POST', body: { name: 'Tech Inc' } })).body).toMatchObject({ subdomain: 'tech-inc' });

    expect((await call(`/tenants/${a.body.id}`)).body).toEqual(a.body);
    expect((await call('/tenants/acme')).body.id).toBe(a.body.id);
    expect((await call('/tenants')).body.map((t: { name: string }) => t.name).sort()).toEqual(['Acme Corp', 'Tech Inc']);
    expect(await call('/tenants/nobody-here')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect(await call('/tenants', { method: 'POST', body: { name: 'Acme again', subdomain: 'acme' } })).toMatchObject({
      status: 409,
      body: { code: 'TENANT_EXISTS' },
    });
    expect(await call('/tenants', { method: 'POST', body: { subdomain: 'nameless' } })).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED' },
    });
    expect(await call('/tenants', { method: 'POST', body: { name: 'Bad', subdomain: "x'; drop schema public;--" } })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_TENANT_ID' },
    });

    // The posts table is in the tenant's schema, nowhere else.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ schema: string }>(
        "select table_schema::text as schema from information_schema.tables where table_name = 'posts' order by 1",
      );
      const schemas = rows.map((r) => r.schema);
      expect(schemas).toContain(a.body.schema);
      expect(schemas).not.toContain('public');
    } finally {
      await admin.end();
    }
  });

  it("serves the posts CRUD and /posts/published in the x-tenant-id tenant (id or subdomain), never another tenant's post", async () => {
    const created = await call('/posts', {
      method: 'POST',
      tenant: 'acme',
      body: { title: 'My First Post', content: 'This is tenant-specific content', published: true },
    });
    expect(created).toMatchObject({ status: 201, body: { title: 'My First Post', published: true } });
    expect(created.body.id).toMatch(UUID);
    const acme = (await call('/tenants/acme')).body.id as string;
    await call('/posts', { method: 'POST', tenant: acme, body: { title: 'A draft', content: 'draft' } });
    await call('/posts', { method: 'POST', tenant: 'tech-inc', body: { title: 'Tech post', content: 'tech', published: true } });

    expect((await call('/posts', { tenant: 'acme' })).body.map((p: { title: string }) => p.title)).toEqual(['A draft', 'My First Post']);
    expect((await call('/posts/published', { tenant: acme })).body.map((p: { title: string }) => p.title)).toEqual(['My First Post']);
    expect((await call('/posts', { tenant: 'tech-inc' })).body.map((p: { title: string }) => p.title)).toEqual(['Tech post']);

    const id = created.body.id as string;
    expect(await call(`/posts/${id}`, { tenant: 'tech-inc' })).toMatchObject({
      status: 404,
      body: { message: `Post with ID ${id} not found` },
    });
    expect((await call(`/posts/${id}`, { tenant: 'acme' })).body.title).toBe('My First Post');
    expect(await call(`/posts/${id}`, { method: 'PATCH', tenant: 'tech-inc', body: { published: false } })).toMatchObject({ status: 404 });
    expect(await call(`/posts/${id}`, { method: 'PATCH', tenant: 'acme', body: { published: false } })).toMatchObject({
      status: 200,
      body: { title: 'My First Post', published: false },
    });
    expect((await call('/posts/published', { tenant: 'acme' })).body).toEqual([]);
    expect((await call(`/posts/${id}`, { method: 'DELETE', tenant: 'tech-inc' })).status).toBe(404);
    expect((await call(`/posts/${id}`, { method: 'DELETE', tenant: 'acme' })).status).toBe(204);
    expect((await call('/posts', { tenant: 'acme' })).body.map((p: { title: string }) => p.title)).toEqual(['A draft']);
  });

  it('answers a missing, unknown or malformed tenant and bad input with 4xx, as seed 000 and Tenantry do', async () => {
    expect(await call('/posts')).toEqual({
      status: 400,
      body: { statusCode: 400, code: 'TENANT_REQUIRED', message: 'Tenant ID is missing in x-tenant-id header' },
    });
    expect(await call('/posts', { tenant: 'nobody-here' })).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect(await call('/posts', { tenant: "x'; drop table posts;--" })).toMatchObject({ status: 400, body: { code: 'INVALID_TENANT_ID' } });
    expect(await call('/posts', { method: 'POST', tenant: 'acme', body: { title: '' } })).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED' },
    });
    expect((await call('/posts', { method: 'POST', tenant: 'acme', body: { title: 'nul\u0000', content: 'x' } })).status).toBe(400);
    expect((await call('/posts', { method: 'POST', tenant: 'acme', body: { title: 't', content: 'c', published: 'yes' } })).status).toBe(
      400,
    );
    expect((await call('/posts/not-a-uuid', { tenant: 'acme' })).status).toBe(400);
  });

  it('60 concurrent requests over 3 tenants on a pool of 4: each sees only its own posts', async () => {
    await call('/tenants', { method: 'POST', body: { name: 'Startup LLC', subdomain: 'startup' } });
    const slugs = ['acme', 'tech-inc', 'startup'];
    const before = await Promise.all(slugs.map(async (s) => (await call('/posts', { tenant: s })).body.length as number));
    const replies = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const s = slugs[i % 3]!;
        if (i % 2 === 0) return await call('/posts', { method: 'POST', tenant: s, body: { title: `${s} #${i}`, content: s } });
        const reply = await call('/posts', { tenant: s });
        for (const p of reply.body as { title: string; content: string }[]) {
          if (p.title.includes('#')) expect(p.content).toBe(s);
        }
        return reply;
      }),
    );
    expect(replies.map((r) => r.status).filter((s) => s >= 300)).toEqual([]);
    for (const [i, s] of slugs.entries()) {
      const posts = (await call('/posts', { tenant: s })).body as { title: string; content: string }[];
      expect(posts.length).toBe(before[i]! + 10);
      for (const p of posts.filter((x) => x.title.includes('#'))) expect(p.title.startsWith(`${s} #`)).toBe(true);
    }
  });
});
