import { randomUUID } from 'node:crypto';

/**
 * Seed 000's posts API driven over real HTTP — the NestJS e2e that every ORM adapter runs
 * against its own idiomatic posts service:
 *
 * - `POST /posts` `{ title, content, published }` → the created post (201);
 * - `GET /posts` → the tenant's posts, newest first; `GET /posts/published` → the published ones;
 *   `GET /posts/:id` → one post (404 when it is not the tenant's);
 * - `POST /posts/import` `{ posts: [{ id, title, content, published }] }` → creates them all in one
 *   transaction (a duplicate id makes it throw: nothing may be left);
 * - the tenant in the `x-tenant-id` header.
 *
 * Every title starts with its tenant's slug (`acme: …`), so a row of another tenant shows.
 * No assertion library: the functions return what they found, the test asserts.
 */

/** A tenant as the scenario needs it (a `Tenant` of `@tenantry/core` is one). */
export interface PostsTenant {
  readonly id: string;
  readonly slug: string;
  readonly isolation: string;
}

/** What creates tenants (a `Tenancy`). */
export interface PostsTenantMaker<T extends PostsTenant> {
  readonly tenants: { create(input: { slug: string; name: string; isolation: 'schema' | 'database' }): Promise<T> };
}

/** A post as the API returns it (other fields, such as the creation date, vary by ORM). */
export interface ApiPost {
  readonly id: string;
  readonly title: string;
  readonly content: string;
  readonly published: boolean;
}

/** One HTTP answer, its body parsed as JSON when it is. */
export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

/** A request to the posts API of `url` as `tenant` (id or slug). */
export async function postsCall(url: string, tenant: string, path: string, body?: unknown): Promise<ApiReply> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-tenant-id': tenant, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/**
 * Creates `schema` schema tenants and `database` database tenants named `<prefix>-s<i>` and
 * `<prefix>-d<i>`, four at a time.
 */
export async function createPostsTenants<T extends PostsTenant>(
  tenancy: PostsTenantMaker<T>,
  prefix: string,
  counts: { readonly schema: number; readonly database: number } = { schema: 10, database: 10 },
): Promise<T[]> {
  const inputs = [
    ...Array.from({ length: counts.schema }, (_, i) => ({ slug: `${prefix}-s${i}`, isolation: 'schema' as const })),
    ...Array.from({ length: counts.database }, (_, i) => ({ slug: `${prefix}-d${i}`, isolation: 'database' as const })),
  ];
  const made: T[] = [];
  for (let i = 0; i < inputs.length; i += 4) {
    made.push(...(await Promise.all(inputs.slice(i, i + 4).map((t) => tenancy.tenants.create({ ...t, name: t.slug })))));
  }
  return made;
}

/** The first problem of a post list of `tenant`, or undefined. */
function listProblem(slug: string, body: unknown, publishedOnly: boolean): string | undefined {
  if (!Array.isArray(body)) return `not a list: ${JSON.stringify(body)}`;
  const foreign = (body as ApiPost[]).find((p) => !p.title.startsWith(`${slug}: `));
  if (foreign !== undefined) return `holds another tenant's post '${foreign.title}'`;
  if (publishedOnly && (body as ApiPost[]).some((p) => p.published !== true)) return 'holds an unpublished post';
  return undefined;
}

/** What {@link postsStorm} found. */
export interface PostsStormResult {
  /** One line per wrong answer: `<slug> GET /posts: holds another tenant's post 'x: …'`. */
  readonly problems: readonly string[];
  /** Posts created per tenant slug, seeded ones included. */
  readonly created: ReadonlyMap<string, number>;
}

/**
 * Seeds three posts per tenant (two published), then sends `requests` requests at once, round
 * robin over the tenants: a quarter create a post, the rest read `/posts`, `/posts/published`
 * and `/posts/:id` (a post of the tenant). Every answer must hold only its tenant's rows; at the
 * end each tenant must have exactly the posts it created.
 */
export async function postsStorm(url: string, tenants: readonly PostsTenant[], requests = 200): Promise<PostsStormResult> {
  const problems: string[] = [];
  const created = new Map<string, number>();
  const ids = new Map<string, string>();
  const create = async (t: PostsTenant, title: string, published: boolean): Promise<void> => {
    const r = await postsCall(url, t.id, '/posts', { title: `${t.slug}: ${title}`, content: `by ${t.slug}`, published });
    const post = r.body as ApiPost | undefined;
    if (r.status !== 201 || post?.title !== `${t.slug}: ${title}`)
      problems.push(`${t.slug} POST /posts: ${r.status} ${JSON.stringify(r.body)}`);
    else {
      created.set(t.slug, (created.get(t.slug) ?? 0) + 1);
      if (!ids.has(t.slug)) ids.set(t.slug, post.id);
    }
  };
  await Promise.all(tenants.flatMap((t) => [create(t, 'first', true), create(t, 'second', false), create(t, 'third', true)]));

  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const t = tenants[i % tenants.length]!;
      const kind = Math.floor(i / tenants.length) % 4;
      if (kind === 0) return create(t, `storm ${i}`, i % 2 === 0);
      const path = kind === 1 ? '/posts' : kind === 2 ? '/posts/published' : `/posts/${ids.get(t.slug) ?? 'none'}`;
      const r = await postsCall(url, t.slug, path);
      const problem =
        r.status !== 200
          ? `${r.status} ${JSON.stringify(r.body)}`
          : kind === 3
            ? listProblem(t.slug, [r.body], false)
            : listProblem(t.slug, r.body, kind === 2);
      if (problem !== undefined) problems.push(`${t.slug} GET ${path}: ${problem}`);
    }),
  );

  for (const t of tenants) {
    const r = await postsCall(url, t.id, '/posts');
    const problem = listProblem(t.slug, r.body, false);
    if (problem !== undefined) problems.push(`${t.slug} GET /posts after the storm: ${problem}`);
    else if ((r.body as unknown[]).length !== created.get(t.slug)) {
      problems.push(`${t.slug} has ${(r.body as unknown[]).length} posts, created ${created.get(t.slug) ?? 0}`);
    }
  }
  return { problems, created };
}

/** What {@link importThatThrows} saw. */
export interface FailedImport {
  /** Status of the import whose transaction threw (a duplicate id): 4xx or 5xx. */
  readonly status: number;
  /** The tenant's posts before and after it: the same ids. */
  readonly before: readonly string[];
  readonly after: readonly string[];
  /** Status and number of posts of a good import of two posts, afterwards (201, before + 2). */
  readonly goodStatus: number;
  readonly afterGood: number;
}

/**
 * Posts an import of three posts whose third repeats the first one's id to `path` (default
 * `/posts/import`): the transaction inserts two rows, then throws. Then a good import of two.
 */
export async function importThatThrows(url: string, tenant: PostsTenant, path = '/posts/import'): Promise<FailedImport> {
  const list = async () => ((await postsCall(url, tenant.id, '/posts')).body as ApiPost[]).map((p) => p.id).sort();
  const before = await list();
  const id = randomUUID();
  const post = (n: number, postId = randomUUID()) => ({ id: postId, title: `${tenant.slug}: import ${n}`, content: 'x', published: true });
  const failed = await postsCall(url, tenant.id, path, { posts: [post(1, id), post(2), post(3, id)] });
  const after = await list();
  const good = await postsCall(url, tenant.id, path, { posts: [post(4), post(5)] });
  return { status: failed.status, before, after, goodStatus: good.status, afterGood: (await list()).length };
}
