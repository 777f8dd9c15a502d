/**
 * Seed 000's posts API as drizzle-posts serves it: what is the ORM's is only the
 * {@link PostsStore} passed to {@link postsApi}. (Seed 000 as a NestJS app is
 * `examples/seed-000-typeorm-posts`.)
 */
import type { Tenancy, Tenant } from '@tenantry/core';
import { HttpError, type Reply, type Route, type RouteContext } from './json-server.js';
import { slugify } from './slugify.js';

/** A post as seed 000's `POST /posts` takes it. */
export interface PostInput {
  readonly title: string;
  readonly content: string;
  readonly published?: boolean;
}

/**
 * Seed 000's posts service, written with any ORM and no tenant in sight: each call runs in the
 * tenant of the request that made it. "Not found" is `undefined` (turn TypeORM's `null` into it).
 */
export interface PostsStore<Post = unknown> {
  create(input: PostInput): Promise<Post>;
  /** Newest first. */
  findAll(): Promise<Post[]>;
  /** The published ones, newest first. */
  findPublished(): Promise<Post[]>;
  findOne(id: string): Promise<Post | undefined>;
  update(id: string, patch: Partial<PostInput>): Promise<Post | undefined>;
  /** `false` when there was no such post. */
  remove(id: string): Promise<boolean>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tenantJson(t: Tenant): Record<string, unknown> {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    status: t.status,
    isolation: t.isolation,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
  };
}

function postInput(body: unknown, partial: boolean): Partial<PostInput> {
  if (body === null || typeof body !== 'object') throw new HttpError(400, 'send a JSON object');
  const b = body as Record<string, unknown>;
  const out: { title?: string; content?: string; published?: boolean } = {};
  for (const key of ['title', 'content'] as const) {
    if (b[key] === undefined && partial) continue;
    if (typeof b[key] !== 'string' || (b[key] as string).trim() === '') throw new HttpError(400, `${key} must be a non-empty string`);
    // PostgreSQL text cannot hold NUL, nor UTF-8 encode a lone surrogate.
    if ((b[key] as string).includes('\u0000') || /[\uD800-\uDFFF]/u.test(b[key] as string))
      throw new HttpError(400, `${key} must be valid text without NUL characters`);
    out[key] = b[key] as string;
  }
  if (b['published'] !== undefined) {
    if (typeof b['published'] !== 'boolean') throw new HttpError(400, 'published must be true or false');
    out.published = b['published'];
  }
  return out;
}

/**
 * Seed 000's routes: `POST`/`GET /tenants` (`{ name, slug? | subdomain?, isolation? }`) to
 * create and list tenants, and `/posts` (CRUD and `/posts/published`) in the tenant of the
 * `x-tenant-id` header (its id or slug), through `posts`.
 *
 * @example
 * ```ts
 * const posts = new PostsService(db); // any ORM; implements PostsStore
 * const server = jsonServer(postsApi(tenancy, posts), onError);
 * ```
 */
export function postsApi(tenancy: Tenancy, posts: PostsStore): Route[] {
  /** Runs the handler in the tenant of the request: the one place tenancy appears. */
  const inTenant =
    (handle: (ctx: RouteContext) => Promise<Reply>) =>
    async (ctx: RouteContext): Promise<Reply> => {
      const header = ctx.req.headers['x-tenant-id'];
      if (typeof header !== 'string' || header === '') throw new HttpError(400, 'Tenant ID is missing in x-tenant-id header');
      return await tenancy.run(header, () => handle(ctx));
    };
  const notFound = (ctx: RouteContext): HttpError => new HttpError(404, `Post with ID ${ctx.params['id']} not found`);
  const postId = (ctx: RouteContext): string => {
    const id = ctx.params['id']!;
    if (!UUID.test(id)) throw notFound(ctx);
    return id;
  };

  return [
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
    {
      method: 'GET',
      path: '/tenants',
      handle: async () => ({ status: 200, body: (await tenancy.tenants.list({ limit: 1000 })).items.map(tenantJson) }),
    },
    {
      method: 'POST',
      path: '/posts',
      handle: inTenant(async ({ body }) => ({ status: 201, body: await posts.create(postInput(body, false) as PostInput) })),
    },
    { method: 'GET', path: '/posts', handle: inTenant(async () => ({ status: 200, body: await posts.findAll() })) },
    { method: 'GET', path: '/posts/published', handle: inTenant(async () => ({ status: 200, body: await posts.findPublished() })) },
    {
      method: 'GET',
      path: '/posts/:id',
      handle: inTenant(async (ctx) => {
        const post = await posts.findOne(postId(ctx));
        if (post === undefined) throw notFound(ctx);
        return { status: 200, body: post };
      }),
    },
    {
      method: 'PATCH',
      path: '/posts/:id',
      handle: inTenant(async (ctx) => {
        const post = await posts.update(postId(ctx), postInput(ctx.body, true));
        if (post === undefined) throw notFound(ctx);
        return { status: 200, body: post };
      }),
    },
    {
      method: 'DELETE',
      path: '/posts/:id',
      handle: inTenant(async (ctx) => {
        if (!(await posts.remove(postId(ctx)))) throw notFound(ctx);
        return { status: 204 };
      }),
    },
  ];
}

/** The `curl` lines that try seed 000's API at `base` (what the posts examples print at start). */
export function postsApiUsage(base: string): string {
  return `  curl -X POST ${base}/tenants -H 'content-type: application/json' -d '{"name":"Tenant A"}'
  curl -X POST ${base}/posts -H 'content-type: application/json' -H 'x-tenant-id: tenant-a' -d '{"title":"Hello","content":"A content","published":true}'
  curl ${base}/posts/published -H 'x-tenant-id: tenant-a'`;
}
