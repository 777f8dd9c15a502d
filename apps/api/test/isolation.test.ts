import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, http, setupApi, tenantWithToken } from './helpers.js';

const h = await setupApi();
const api = await h.start();
const u = api.url;

describe("seed 000's Testing Data Isolation walk-through, with tokens", () => {
  it('keeps each tenant to its own posts', async () => {
    // 1–2. Create Tenant A and Tenant B (seed 000's bodies).
    const a = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: 'Tenant A', subdomain: 'tenant-a' } });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ slug: 'tenant-a', name: 'Tenant A', status: 'ACTIVE' });
    const b = await http(u, 'POST', '/tenants', { token: ADMIN_TOKEN, body: { name: 'Tenant B', subdomain: 'tenant-b' } });
    expect(b.status).toBe(201);
    const tokenA = (await http(u, 'POST', `/tenants/${a.body.id}/tokens`, { token: ADMIN_TOKEN })).body.token as string;
    const tokenB = (await http(u, 'POST', `/tenants/${b.body.id}/tokens`, { token: ADMIN_TOKEN })).body.token as string;

    // 3–4. One post each.
    const postA = await http(u, 'POST', '/posts', {
      tenant: a.body.id,
      token: tokenA,
      body: { title: 'Tenant A Post', content: 'A content', published: true },
    });
    expect(postA.status).toBe(201);
    expect(postA.body).toMatchObject({ title: 'Tenant A Post', content: 'A content', published: true });
    expect(postA.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const postB = await http(u, 'POST', '/posts', {
      tenant: b.body.id,
      token: tokenB,
      body: { title: 'Tenant B Post', content: 'B content', published: true },
    });
    expect(postB.status).toBe(201);

    // 5–6. Each sees only its own.
    const listA = await http(u, 'GET', '/posts', { tenant: a.body.id, token: tokenA });
    expect(listA.status).toBe(200);
    expect(listA.body.map((p: { title: string }) => p.title)).toEqual(['Tenant A Post']);
    const listB = await http(u, 'GET', '/posts', { tenant: b.body.id, token: tokenB });
    expect(listB.body.map((p: { title: string }) => p.title)).toEqual(['Tenant B Post']);
    expect(
      (await http(u, 'GET', '/posts/published', { tenant: 'tenant-a', token: tokenA })).body.map((p: { title: string }) => p.title),
    ).toEqual(['Tenant A Post']);

    // Tenant A's post id does not exist for tenant B.
    const cross = await http(u, 'GET', `/posts/${postA.body.id}`, { tenant: 'tenant-b', token: tokenB });
    expect(cross.status).toBe(404);
    expect(cross.body.code).toBe('NOT_FOUND');
    expect((await http(u, 'DELETE', `/posts/${postA.body.id}`, { tenant: 'tenant-b', token: tokenB })).status).toBe(404);
    expect((await http(u, 'GET', `/posts/${postA.body.id}`, { tenant: 'tenant-a', token: tokenA })).body.title).toBe('Tenant A Post');

    // And A's token cannot be pointed at B.
    const mismatch = await http(u, 'GET', '/posts', { tenant: 'tenant-b', token: tokenA });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body).toEqual({
      statusCode: 403,
      code: 'TENANT_MISMATCH',
      message: "the token was issued for another tenant than 'tenant-b'",
    });
  });

  it('serves the same through the path resolver: /t/:slug/posts', async () => {
    const { token } = await tenantWithToken(u, 'Pathy');
    expect((await http(u, 'POST', '/t/pathy/posts', { token, body: { title: 'via path', content: '' } })).status).toBe(201);
    expect((await http(u, 'GET', '/t/pathy/posts', { token })).body.map((p: { title: string }) => p.title)).toEqual(['via path']);
    expect((await http(u, 'GET', '/posts', { tenant: 'pathy', token })).body).toHaveLength(1);
  });
});

describe('under concurrency', () => {
  it('answers 200 concurrent requests across 20 tenants with only their own posts', async () => {
    const tenants = [];
    for (let i = 0; i < 20; i++) tenants.push(await tenantWithToken(u, `Concurrent ${i}`, `conc-${i}`));
    // Every tenant gets a different number of posts, each titled with its slug.
    for (const [i, t] of tenants.entries()) {
      for (let n = 0; n <= i % 3; n++) {
        const res = await http(u, 'POST', '/posts', {
          tenant: t.tenant.slug,
          token: t.token,
          body: { title: `${t.tenant.slug} #${n}`, content: t.tenant.id, published: n % 2 === 0 },
        });
        expect(res.status).toBe(201);
      }
    }
    const jobs = Array.from({ length: 200 }, (_, k) => {
      const t = tenants[(k * 13) % tenants.length]!;
      const path = k % 2 === 0 ? '/posts' : '/posts/published';
      // Half by slug, half by id.
      const tenant = k % 4 < 2 ? t.tenant.slug : t.tenant.id;
      return { t, path, promise: http(u, 'GET', path, { tenant, token: t.token }) };
    });
    const replies = await Promise.all(jobs.map((j) => j.promise));
    replies.forEach((res, k) => {
      const { t, path } = jobs[k]!;
      expect(res.status).toBe(200);
      const i = tenants.indexOf(t);
      const expected = path === '/posts' ? (i % 3) + 1 : Math.floor((i % 3) / 2) + 1;
      expect(res.body).toHaveLength(expected);
      for (const post of res.body as { title: string; content: string }[]) {
        expect(post.title.startsWith(`${t.tenant.slug} #`)).toBe(true);
        expect(post.content).toBe(t.tenant.id);
      }
    });
  });
});
