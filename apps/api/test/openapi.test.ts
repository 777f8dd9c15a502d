import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, http, setupApi, type CallOptions, type Reply } from './helpers.js';

// /docs-json is what client generators read. This file validates it as OpenAPI, then drives every
// route of the running service — successes and the errors a client can provoke — and checks each
// real answer against the document: its status is documented for that route, and its body matches
// that response's schema (with no undocumented field in any of our schemas).

const h = await setupApi();
const api = await h.start();
const u = api.url;
const doc = (await http(u, 'GET', '/docs-json')).body as OpenApiDoc;

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Record<string, unknown>> };
}
interface Operation {
  operationId: string;
  tags?: string[];
  parameters?: { name: string; in: string }[];
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, { schema?: Schema }> }>;
}
type Schema = Record<string, unknown>;

/** OpenAPI 3.0's `nullable` as JSON Schema, `$ref`s into the document, and our DTOs closed to undocumented fields. */
function toJsonSchema(node: unknown, closeObjects: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, closeObjects));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') out[k] = `doc${v}`;
    else if (k === 'properties' && v !== null && typeof v === 'object')
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, toJsonSchema(s, closeObjects)]));
    else if (k !== 'example' && k !== 'nullable') out[k] = toJsonSchema(v, closeObjects);
  }
  if (closeObjects && out['properties'] !== undefined && out['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return (node as Schema)['nullable'] === true ? { anyOf: [out, { type: 'null' }] } : out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({
  $id: 'doc',
  components: {
    schemas: Object.fromEntries(Object.entries(doc.components.schemas).map(([name, s]) => [name, toJsonSchema(s, true)])),
  },
});
const validators = new Map<Schema, ValidateFunction>();

/** The documented path a real URL matches: literal segments beat parameters (`/posts/published` over `/posts/{id}`). */
function templateOf(url: string): string {
  const path = url.split('?')[0]!;
  const matches = Object.keys(doc.paths).filter((t) =>
    new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
  matches.sort((a, b) => (a.match(/\{/g) ?? []).length - (b.match(/\{/g) ?? []).length);
  if (matches[0] === undefined) throw new Error(`no documented path matches ${path}`);
  return matches[0];
}

const seen = new Map<string, Set<string>>();

/** One request, checked against the document. */
async function call(method: string, url: string, options: CallOptions = {}): Promise<Reply> {
  const reply = await http(u, method, url, options);
  const template = templateOf(url);
  const op = doc.paths[template]?.[method.toLowerCase()];
  const where = `${method} ${url} → ${reply.status} ${JSON.stringify(reply.body)}`;
  expect(op, `${method} ${template} is documented`).toBeDefined();
  const response = op!.responses[String(reply.status)];
  expect(response, `status ${reply.status} is documented for ${method} ${template} (${where})`).toBeDefined();
  const schema = response!.content?.['application/json']?.schema;
  if (reply.status === 204) expect(reply.body).toBeUndefined();
  else if (schema !== undefined) {
    let validate = validators.get(schema);
    if (validate === undefined) validators.set(schema, (validate = ajv.compile(toJsonSchema(schema, false) as Schema)));
    expect(validate(reply.body), `${where}\n${ajv.errorsText(validate.errors)}`).toBe(true);
  }
  const key = `${method.toUpperCase()} ${template}`;
  seen.set(key, (seen.get(key) ?? new Set()).add(String(reply.status)));
  return reply;
}

const admin = (o: CallOptions = {}): CallOptions => ({ token: ADMIN_TOKEN, ...o });

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3', async () => {
    expect(doc.openapi).toMatch(/^3\.0\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    // The validation keeps the event loop busy for seconds, past the server's keep-alive timeout:
    // let the client see the idle connection's close before the next request would reuse it.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('declares the admin token as an opaque bearer token and the tenant token as a JWT', () => {
    expect(doc.components.securitySchemes['admin']).toEqual({ type: 'http', scheme: 'bearer', description: expect.any(String) });
    expect(doc.components.securitySchemes['tenant']).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('gives every route a success schema and its errors, and every tenant route the header and the /t/{slug} form', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        const success = statuses.filter((s) => s.startsWith('2'));
        expect(success, where).not.toHaveLength(0);
        for (const s of success) {
          if (s === '204') continue;
          const content = op.responses[s]!.content;
          expect(content, `${where} ${s} has a body schema`).toBeDefined();
        }
        if (path === '/health' || path === '/metrics') continue;
        const errors = statuses.filter((s) => /^[45]/.test(s));
        expect(errors, `${where} documents its errors`).not.toHaveLength(0);
        for (const s of errors) {
          const schema = JSON.stringify(op.responses[s]!.content?.['application/json']?.schema);
          expect(schema, `${where} ${s}`).toMatch(/ErrorBodyDto|MigrationFailedDto|ReadinessDto/);
        }
        const headers = (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
        expect(new Set(headers).size, `${where}: no header twice`).toBe(headers.length);
        if ((op.tags ?? []).some((t) => t.startsWith('tenant:'))) {
          if (path.startsWith('/t/{slug}/')) expect(op.parameters?.some((p) => p.in === 'path' && p.name === 'slug')).toBe(true);
          else {
            expect(headers, where).toContain('x-tenant-id');
            expect(doc.paths[`/t/{slug}${path}`]?.[method], `${where} under /t/{slug}`).toBeDefined();
          }
        }
      }
    }
    expect(doc.paths['/users']?.['post']?.parameters?.map((p) => p.name)).toContain('x-tenant-id');
    expect(doc.paths['/tenants']?.['post']?.responses['409']?.description).toContain('TENANT_EXISTS');
  });

  it('serves Swagger UI at /docs and /docs/ with every asset', async () => {
    for (const page of ['/docs', '/docs/']) {
      const res = await fetch(`${u}${page}`);
      expect(res.status).toBe(200);
      const assets = [...(await res.text()).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThan(3);
      for (const asset of assets) expect((await fetch(new URL(asset, `${u}${page}`))).status, `${page} → ${asset}`).toBe(200);
    }
  });
});

describe('real answers match the document', () => {
  it('admin routes: tenants, servers, migrations, stats', async () => {
    await call('POST', '/tenants', { body: { name: 'Open A', slug: 'open-a' } }); // 401
    const a = await call('POST', '/tenants', admin({ body: { name: 'Open A', slug: 'open-a' } }));
    expect(a.status).toBe(201);
    expect((await call('POST', '/tenants', admin({ body: { name: 'Open A', slug: 'open-a' } }))).status).toBe(409);
    expect((await call('POST', '/tenants', admin({ body: { name: 42 } }))).status).toBe(400);
    expect((await call('POST', '/tenants', admin({ body: '{"name":' }))).status).toBe(400);
    const key = { headers: { 'idempotency-key': 'open-b-key' } };
    expect((await call('POST', '/tenants', admin({ body: { name: 'Open B', slug: 'open-b' }, ...key }))).status).toBe(201);
    expect((await call('POST', '/tenants', admin({ body: { name: 'Open B', slug: 'open-b' }, ...key }))).status).toBe(201);
    expect((await call('POST', '/tenants', admin({ body: { name: 'Other', slug: 'open-c' }, ...key }))).status).toBe(422);
    expect((await call('GET', '/tenants?limit=1', admin())).body.nextCursor).not.toBeNull();
    expect((await call('GET', '/tenants?limit=0', admin())).status).toBe(400);
    expect((await call('GET', '/tenants/open-a', admin())).status).toBe(200);
    expect((await call('GET', '/tenants/no-such-tenant', admin())).status).toBe(404);
    expect((await call('PATCH', '/tenants/open-a', admin({ body: { name: 'Open A, Inc.' } }))).status).toBe(200);
    expect((await call('PATCH', '/tenants/open-a', admin({ body: { slug: 'open-b' } }))).status).toBe(409);
    // Roles are the server's, shared by every test file: the name is this run's.
    const physicalName = `open_a_${Date.now().toString(36)}`;
    expect((await call('POST', '/tenants/open-a/physical-name', admin({ body: { physicalName } }))).status).toBe(200);
    expect((await call('POST', '/tenants/open-a/physical-name', admin({ body: { physicalName: 'pg_x' } }))).status).toBe(400);
    expect((await call('POST', '/tenants/open-b/suspend', admin({ body: { reason: 'unpaid' } }))).status).toBe(200);
    expect((await call('POST', '/tenants/open-b/resume', admin({ body: {} }))).status).toBe(200);
    expect((await call('GET', '/tenants/open-a/activity', admin())).status).toBe(200);
    expect((await call('POST', '/tenants/open-a/domains', admin({ body: { domain: 'app.open-a.test' } }))).status).toBe(201);
    expect((await call('POST', '/tenants/open-b/domains', admin({ body: { domain: 'app.open-a.test' } }))).status).toBe(409);
    expect((await call('GET', '/tenants/open-a/domains', admin())).body.domains).toEqual(['app.open-a.test']);
    expect((await call('DELETE', '/tenants/open-a/domains/app.open-a.test', admin())).status).toBe(204);
    expect((await call('DELETE', '/tenants/open-a/domains/app.open-a.test', admin())).status).toBe(404);
    expect((await call('POST', '/tenants/open-a/tokens', admin({ body: { subject: 'ci' } }))).status).toBe(201);
    expect((await call('GET', '/admin/stats?top=3', admin())).status).toBe(200);
    expect((await call('GET', '/servers', admin())).status).toBe(200);
    expect((await call('GET', '/servers/default', admin())).status).toBe(200);
    expect((await call('GET', '/servers/nowhere', admin())).status).toBe(404);
    expect((await call('POST', '/servers/default/drain', admin())).status).toBe(200);
    expect((await call('POST', '/servers/default/undrain', admin())).status).toBe(200);
    // Unreachable (422 SERVER_UNAVAILABLE) or, without an encryption key, 503 ENCRYPTION_KEY_REQUIRED: both documented.
    expect([422, 503]).toContain(
      (await call('POST', '/servers', admin({ body: { id: 'far', url: 'postgres://x:y@127.0.0.1:1/db' } }))).status,
    );
    expect((await call('GET', '/admin/migrations', admin())).status).toBe(200);
    expect((await call('POST', '/admin/migrations', admin({ body: { dryRun: true } }))).status).toBe(200);
    expect((await call('POST', '/admin/migrations/rollback', admin({ body: {} }))).status).toBe(400);
    expect((await call('DELETE', '/tenants/open-b', admin())).status).toBe(200);
    // Mobility (the archive upload routes are driven by admin-mobility.test.ts: their body is binary).
    expect((await call('GET', '/admin/tenants/open-a/backup', admin())).status).toBe(200);
    expect((await call('POST', '/admin/tenants/open-a/clone', admin({ body: { slug: 'open-a-copy' } }))).status).toBe(201);
    expect((await call('POST', '/admin/tenants/open-a/clone', admin({ body: { slug: 'open-a-copy' } }))).status).toBe(409);
    expect((await call('POST', '/admin/tenants/open-a-copy/move', admin({ body: { isolation: 'database', retainHours: 0 } }))).status).toBe(
      200,
    );
    expect((await call('POST', '/admin/tenants/purge-moved', admin())).status).toBe(200);
  });

  it('tenant routes: users, login, posts, under the header and under /t/{slug}', async () => {
    const t = (await call('POST', '/tenants', admin({ body: { name: 'Open T', slug: 'open-t' } }))).body;
    const token = (await call('POST', `/tenants/${t.id}/tokens`, admin())).body.token as string;
    const as = (o: CallOptions = {}): CallOptions => ({ tenant: 'open-t', token, ...o });
    expect((await call('POST', '/users', as({ body: { email: 'ann@open-t.test', password: 'correct horse battery' } }))).status).toBe(201);
    expect((await call('POST', '/users', as({ body: { email: 'ann@open-t.test', password: 'correct horse battery' } }))).status).toBe(409);
    expect(
      (await call('POST', '/auth/login', { tenant: 'open-t', body: { email: 'ann@open-t.test', password: 'correct horse battery' } }))
        .status,
    ).toBe(200);
    expect(
      (await call('POST', '/auth/login', { tenant: 'open-t', body: { email: 'ann@open-t.test', password: 'wrong password!' } })).status,
    ).toBe(401);
    const post = (await call('POST', '/posts', as({ body: { title: 'Hello', content: 'World', published: true } }))).body;
    expect((await call('GET', '/posts', as())).status).toBe(200);
    expect((await call('GET', '/posts/published?limit=5', as())).status).toBe(200);
    expect((await call('GET', `/posts/${post.id}`, as())).status).toBe(200);
    expect((await call('GET', '/posts/not-a-uuid', as())).status).toBe(400);
    expect((await call('PATCH', `/posts/${post.id}`, as({ body: { published: false } }))).status).toBe(200);
    expect((await call('PATCH', `/posts/${post.id}`, as({ body: {} }))).status).toBe(400);
    expect((await call('DELETE', `/posts/${post.id}`, as())).status).toBe(204);
    expect((await call('GET', `/posts/${post.id}`, as())).status).toBe(404);
    expect((await call('GET', '/posts', { token })).status).toBe(400); // TENANT_REQUIRED
    expect((await call('GET', '/posts', { token, tenant: 'no-such-tenant' })).status).toBe(404);
    expect((await call('GET', '/posts', { tenant: 'open-t' })).status).toBe(401);
    const other = (await call('POST', '/tenants', admin({ body: { name: 'Open U', slug: 'open-u' } }))).body;
    expect((await call('GET', '/posts', { token, tenant: other.slug })).status).toBe(403); // TENANT_MISMATCH
    expect((await call('GET', '/t/open-t/posts', { token })).status).toBe(200);
    expect((await call('POST', '/t/open-t/posts', { token, body: { title: 'Via path', content: '!' } })).status).toBe(201);
    expect((await call('GET', '/t/open-t/posts/published', { token })).status).toBe(200);
    await call('POST', '/tenants/open-t/suspend', admin({ body: {} }));
    expect((await call('GET', '/t/open-t/posts', { token })).status).toBe(403); // TENANT_SUSPENDED
  });

  it('health, readiness and metrics', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    expect((await call('GET', '/ready')).status).toBe(200);
    const metrics = await fetch(`${u}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(Object.keys(doc.paths['/metrics']!['get']!.responses['200']!.content!)).toEqual(['text/plain']);
  });

  it('reached every documented operation at least once', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    const missed = operations.filter(
      (op) =>
        !seen.has(op) && !op.startsWith('GET /metrics') && !/\/t\/\{slug\}\/(users|auth)|\/t\/\{slug\}\/posts\/\{id\}|\/restore$/.test(op),
    );
    expect(missed).toEqual([]);
  });
});
