import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { http, setupApi, tenantWithToken } from './helpers.js';

const h = await setupApi();
const api = await h.start();
const u = api.url;
let token: string;
const as = (o: { body?: unknown; headers?: Record<string, string> } = {}) => ({ tenant: 'valid', token, ...o });

beforeAll(async () => {
  token = (await tenantWithToken(u, 'Valid')).token;
});

describe('posts CRUD', () => {
  it('creates, reads, updates and deletes a post', async () => {
    const created = await http(u, 'POST', '/posts', as({ body: { title: 'Draft', content: 'text' } }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'Draft', content: 'text', published: false });
    const id = created.body.id as string;
    expect((await http(u, 'GET', `/posts/${id}`, as())).body.title).toBe('Draft');
    expect((await http(u, 'GET', '/posts/published', as())).body).toEqual([]);
    const patched = await http(u, 'PATCH', `/posts/${id}`, as({ body: { published: true, title: 'Final' } }));
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, title: 'Final', content: 'text', published: true });
    expect((await http(u, 'GET', '/posts/published', as())).body.map((p: { id: string }) => p.id)).toEqual([id]);
    expect((await http(u, 'DELETE', `/posts/${id}`, as())).status).toBe(204);
    const gone = await http(u, 'GET', `/posts/${id}`, as());
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: `no post '${id}'` });
    expect((await http(u, 'PATCH', `/posts/${id}`, as({ body: { title: 'x' } }))).status).toBe(404);
  });

  it('pages with limit and offset', async () => {
    for (let i = 0; i < 3; i++) await http(u, 'POST', '/posts', as({ body: { title: `p${i}`, content: '' } }));
    const page = await http(u, 'GET', '/posts?limit=2&offset=1', as());
    expect(page.body).toHaveLength(2);
    expect((await http(u, 'GET', '/posts?limit=1000', as())).status).toBe(400);
  });
});

describe('validation', () => {
  it('answers field-level 400 VALIDATION_FAILED', async () => {
    const res = await http(u, 'POST', '/posts', as({ body: { title: 5, published: 'yes' } }));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.statusCode).toBe(400);
    const fields = Object.fromEntries(res.body.errors.map((e: { field: string; messages: string[] }) => [e.field, e.messages]));
    expect(Object.keys(fields).sort()).toEqual(['content', 'published', 'title']);
    expect(fields.title).toContain('title must be a string');
    expect(fields.published).toEqual(['published must be a boolean value']);
  });

  it('rejects unknown fields', async () => {
    const res = await http(u, 'POST', '/posts', as({ body: { title: 't', content: 'c', authorId: 'someone' } }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'property authorId should not exist',
      errors: [{ field: 'authorId', messages: ['property authorId should not exist'] }],
    });
    expect((await http(u, 'GET', '/posts?sort=title', as())).status).toBe(400);
  });

  it('rejects bodies that are not an object', async () => {
    for (const body of ['[1,2]', '"text"', 'null']) {
      const res = await http(u, 'POST', '/posts', as({ body }));
      expect(res.status, body).toBe(400);
    }
    const empty = await http(u, 'PATCH', '/posts/00000000-0000-4000-8000-000000000000', as({ body: {} }));
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('VALIDATION_FAILED');
  });

  it('validates path parameters', async () => {
    const res = await http(u, 'GET', '/posts/not-a-uuid', as());
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toEqual([{ field: 'id', messages: ['id must be a UUID'] }]);
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await http(u, 'POST', '/posts', as({ body: '{"title": "t",' }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, code: 'INVALID_JSON', message: 'the request body is not valid JSON' });
  });

  it('answers bodies over 100kb with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await http(u, 'POST', '/posts', as({ body: { title: 't', content: 'x'.repeat(120 * 1024) } }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.statusCode).toBe(413);
  });
});

describe('service endpoints', () => {
  it('serves OpenAPI at /docs and /docs-json', async () => {
    const json = await http(u, 'GET', '/docs-json');
    expect(json.status).toBe(200);
    expect(json.body.openapi).toMatch(/^3\./);
    expect(Object.keys(json.body.paths)).toEqual(
      expect.arrayContaining([
        '/tenants',
        '/tenants/{id}',
        '/posts',
        '/posts/published',
        '/posts/{id}',
        '/users',
        '/auth/login',
        '/health',
        '/ready',
        '/metrics',
        '/admin/stats',
      ]),
    );
    expect(json.body.components.schemas.CreatePostDto.required).toEqual(expect.arrayContaining(['title', 'content']));
    const html = await fetch(`${u}/docs`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('swagger');
  });

  it('answers /health (liveness) and /ready (readiness) when all is well', async () => {
    const health = await http(u, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok' });
    const ready = await http(u, 'GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', checks: { registry: { status: 'ok' } } });
  });

  it('reports 503 down at /ready, but stays live at /health, when the registry is gone', async () => {
    const other = await h.start();
    // Cut the service off from its database: its connections are ended and new ones refused.
    const server = new pg.Client({ connectionString: h.db.urlFor('postgres') });
    await server.connect();
    try {
      await server.query(`alter database "${h.db.name}" with allow_connections false`);
      await server.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'tenantry%'",
        [h.db.name],
      );
      const res = await http(other.url, 'GET', '/ready');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'down', checks: { registry: { status: 'down', error: 'SERVER_UNAVAILABLE' } } });
      expect((await http(other.url, 'GET', '/health')).status).toBe(200);
    } finally {
      await server.query(`alter database "${h.db.name}" with allow_connections true`);
      await server.end();
    }
    await other.close();
  });
});
