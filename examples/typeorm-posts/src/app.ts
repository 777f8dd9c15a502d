import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createTenancy, type Tenancy, type Tenant } from '@tenantry/core';
import { typeormMigrations, typeormTenancy } from '@tenantry/typeorm';
import { createDataSource, MIGRATIONS } from './data-source.js';
import { HttpError, jsonServer, type Route, type RouteContext } from '@tenantry/example-http';
import { PostsService, type PostInput } from './posts.service.js';

export interface PostsAppOptions {
  /** URL of the registry database (any PostgreSQL). */
  readonly databaseUrl: string;
  /** Connections per server. Default 10. */
  readonly poolMax?: number;
  readonly onError?: (err: unknown) => void;
}

export interface PostsApp {
  readonly tenancy: Tenancy;
  readonly server: Server;
  /** Starts listening (port 0: any free port); returns the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tenantJson(t: Tenant): Record<string, unknown> {
  return { id: t.id, slug: t.slug, name: t.name, status: t.status, isolation: t.isolation, schemaVersion: t.schemaVersion, createdAt: t.createdAt };
}

function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

function postInput(body: unknown, partial: boolean): Partial<PostInput> {
  if (body === null || typeof body !== 'object') throw new HttpError(400, 'send a JSON object');
  const b = body as Record<string, unknown>;
  const out: { title?: string; content?: string; published?: boolean } = {};
  for (const key of ['title', 'content'] as const) {
    if (b[key] === undefined && partial) continue;
    if (typeof b[key] !== 'string' || (b[key] as string).trim() === '') throw new HttpError(400, `${key} must be a non-empty string`);
    // PostgreSQL text cannot hold NUL, nor UTF-8 encode a lone surrogate.
    if (/[\u0000\uD800-\uDFFF]/u.test(b[key] as string)) throw new HttpError(400, `${key} must be valid text without NUL characters`);
    out[key] = b[key] as string;
  }
  if (b['published'] !== undefined) {
    if (typeof b['published'] !== 'boolean') throw new HttpError(400, 'published must be true or false');
    out.published = b['published'];
  }
  return out;
}

/**
 * Seed 000's app on Tenantry: `/tenants` to create and list tenants, `/posts` (CRUD and
 * `/posts/published`) in the tenant of the `x-tenant-id` header (its id or slug).
 */
export async function createPostsApp(options: PostsAppOptions): Promise<PostsApp> {
  const dataSource = createDataSource();
  const tenancy = await createTenancy({
    registryUrl: options.databaseUrl,
    migrations: typeormMigrations({ migrations: MIGRATIONS, dataSource }),
    pool: { max: options.poolMax ?? 10 },
    applicationName: 'typeorm-posts',
  });
  // Existing tenants get migrations added since the last start (nothing to do costs one registry query).
  await tenancy.migrate();
  await typeormTenancy(tenancy, dataSource);
  const posts = new PostsService(dataSource);

  /** Runs the handler in the tenant of the request: the one place tenancy appears. */
  const inTenant =
    (handle: (ctx: RouteContext) => Promise<{ status: number; body?: unknown }>) =>
    async (ctx: RouteContext) => {
      const header = ctx.req.headers['x-tenant-id'];
      if (typeof header !== 'string' || header === '') throw new HttpError(400, 'Tenant ID is missing in x-tenant-id header');
      return await tenancy.run(header, () => handle(ctx));
    };
  const postId = (ctx: RouteContext): string => {
    const id = ctx.params['id']!;
    if (!UUID.test(id)) throw new HttpError(404, `Post with ID ${id} not found`);
    return id;
  };

  const routes: Route[] = [
    {
      method: 'POST',
      path: '/tenants',
      handle: async ({ body }) => {
        const b = (body ?? {}) as Record<string, unknown>;
        if (typeof b['name'] !== 'string' || b['name'].trim() === '') throw new HttpError(400, 'name must be a non-empty string');
        const slug = typeof b['slug'] === 'string' ? b['slug'] : typeof b['subdomain'] === 'string' ? b['subdomain'] : slugify(b['name']);
        const isolation = b['isolation'] === 'database' ? 'database' : 'schema';
        return { status: 201, body: tenantJson(await tenancy.tenants.create({ slug, name: b['name'], isolation })) };
      },
    },
    { method: 'GET', path: '/tenants', handle: async () => ({ status: 200, body: (await tenancy.tenants.list({ limit: 1000 })).items.map(tenantJson) }) },
    { method: 'POST', path: '/posts', handle: inTenant(async ({ body }) => ({ status: 201, body: await posts.create(postInput(body, false) as PostInput) })) },
    { method: 'GET', path: '/posts', handle: inTenant(async () => ({ status: 200, body: await posts.findAll() })) },
    { method: 'GET', path: '/posts/published', handle: inTenant(async () => ({ status: 200, body: await posts.findPublished() })) },
    {
      method: 'GET',
      path: '/posts/:id',
      handle: inTenant(async (ctx) => {
        const post = await posts.findOne(postId(ctx));
        if (post === null) throw new HttpError(404, `Post with ID ${ctx.params['id']} not found`);
        return { status: 200, body: post };
      }),
    },
    {
      method: 'PATCH',
      path: '/posts/:id',
      handle: inTenant(async (ctx) => {
        const post = await posts.update(postId(ctx), postInput(ctx.body, true));
        if (post === null) throw new HttpError(404, `Post with ID ${ctx.params['id']} not found`);
        return { status: 200, body: post };
      }),
    },
    {
      method: 'DELETE',
      path: '/posts/:id',
      handle: inTenant(async (ctx) => {
        if (!(await posts.remove(postId(ctx)))) throw new HttpError(404, `Post with ID ${ctx.params['id']} not found`);
        return { status: 204 };
      }),
    },
  ];
  const server = jsonServer(routes, options.onError ?? (() => undefined));
  return {
    tenancy,
    server,
    async listen(port, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return `http://${host}:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tenancy.close();
    },
  };
}
