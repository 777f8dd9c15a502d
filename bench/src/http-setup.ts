/**
 * bench:http — the data of the rows: tenants and posts through the reference API's admin and
 * tenant routes (the tenancy row reads the same tenants), the same rows in one schema for the
 * plain app, and tenants through nestjs-multitenant's admin route with the same rows in each
 * tenant schema.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { quoteIdent } from '@tenantry/core';
import { log } from './bench-env.js';
import type { LoadTarget } from './http-load.js';

/** A post as the reference API returns it. */
export interface PostJson {
  readonly id: string;
  readonly title: string;
  readonly content: string;
  readonly published: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A reference-API tenant with a token and its posts. */
export interface ReferenceTenant {
  readonly id: string;
  readonly slug: string;
  readonly token: string;
  readonly posts: readonly PostJson[];
}

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly body: unknown;
}

/** One HTTP request with Node's fetch; JSON in, JSON out. */
export async function http(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed };
}

async function expectStatus(what: string, reply: Promise<Reply>, status: number): Promise<Record<string, unknown>> {
  const r = await reply;
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${r.text.slice(0, 300)}`);
  return r.body as Record<string, unknown>;
}

/** Runs `fn` over `items`, `concurrency` at a time; the first failure stops the rest and is thrown. */
export async function forEachLimit<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (!failed && next < items.length) {
        const i = next++;
        try {
          await fn(items[i]!, i);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
}

/** `http-00001` … */
export function referenceSlug(i: number): string {
  return `http-${String(i + 1).padStart(5, '0')}`;
}

/** nestjs-multitenant's tenant code (its schema is `tenant_<code>`). */
export function peerCode(i: number): string {
  return `h${String(i + 1).padStart(5, '0')}`;
}

function postInput(slug: string, k: number): { title: string; content: string; published: boolean } {
  const content = `Post ${k + 1} of tenant ${slug}. `.repeat(8).trim();
  return { title: `${slug} post ${k + 1}`, content, published: k % 2 === 0 };
}

/**
 * Creates the tenants `http-00001`… through `POST /tenants` (the API's
 * `tenancy.tenants.create`: registry row, schema, role, migrations), a token for each through
 * `POST /tenants/:id/tokens` (as the API's tests do), and `postsPerTenant` posts each through
 * `POST /posts`. Tenants and posts already there (an external server) are reused.
 */
export async function provisionReference(
  base: string,
  adminToken: string,
  options: { tenants: number; postsPerTenant: number; createConcurrency: number },
): Promise<ReferenceTenant[]> {
  const admin = { authorization: `Bearer ${adminToken}` };
  const existing = new Map<string, { id: string; slug: string }>();
  let cursor: string | null = null;
  do {
    const query: string = `/tenants?limit=1000&status=ACTIVE${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = (await expectStatus('list tenants', http(base, 'GET', query, { headers: admin }), 200)) as {
      items: { id: string; slug: string }[];
      nextCursor: string | null;
    };
    for (const t of page.items) existing.set(t.slug, t);
    cursor = page.nextCursor;
  } while (cursor !== null);
  const slugs = Array.from({ length: options.tenants }, (_, i) => referenceSlug(i));
  const missing = slugs.filter((s) => !existing.has(s));
  let started = performance.now();
  await forEachLimit(missing, options.createConcurrency, async (slug) => {
    const t = (await expectStatus(
      `create tenant ${slug}`,
      http(base, 'POST', '/tenants', { headers: admin, body: { name: `Http ${slug}`, slug } }),
      201,
    )) as { id: string; slug: string };
    existing.set(slug, t);
  });
  log(
    `  reference API: ${missing.length} tenants created through POST /tenants in ${((performance.now() - started) / 1000).toFixed(1)} s (${options.createConcurrency} at a time; ${slugs.length - missing.length} reused)`,
  );
  started = performance.now();
  const tenants: ReferenceTenant[] = new Array(slugs.length);
  let created = 0;
  await forEachLimit(slugs, 8, async (slug, i) => {
    const t = existing.get(slug)!;
    const issued = await expectStatus(
      `token for ${slug}`,
      http(base, 'POST', `/tenants/${t.id}/tokens`, { headers: admin, body: { ttlSeconds: 86_400 } }),
      201,
    );
    const headers = { authorization: `Bearer ${String(issued['token'])}`, 'x-tenant-id': t.id };
    const have = (await expectStatus(`posts of ${slug}`, http(base, 'GET', '/posts?limit=100', { headers }), 200)) as unknown as PostJson[];
    const posts: PostJson[] = [];
    for (let k = 0; k < options.postsPerTenant; k++) {
      const input = postInput(slug, k);
      let post = have.find((p) => p.title === input.title);
      if (post === undefined) {
        post = (await expectStatus(
          `create post in ${slug}`,
          http(base, 'POST', '/posts', { headers, body: input }),
          201,
        )) as unknown as PostJson;
        created++;
      }
      posts.push(post);
    }
    tenants[i] = { id: t.id, slug, token: String(issued['token']), posts };
  });
  log(
    `  reference API: ${slugs.length} tokens (POST /tenants/:id/tokens) and ${created} posts (POST /posts) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return tenants;
}

/** The `up` part of the API's posts migration: the same table, indexes and checks everywhere. */
export function postsDdl(migrationFile: string): string {
  return readFileSync(migrationFile, 'utf8').split(/^-- down/m)[0]!;
}

const INSERT_POSTS = `insert into posts (id, title, content, published, created_at, updated_at)
  select * from unnest($1::uuid[], $2::text[], $3::text[], $4::boolean[], $5::timestamptz[], $6::timestamptz[])`;

async function insertPosts(client: pg.ClientBase, posts: readonly PostJson[]): Promise<void> {
  await client.query(INSERT_POSTS, [
    posts.map((p) => p.id),
    posts.map((p) => p.title),
    posts.map((p) => p.content),
    posts.map((p) => p.published),
    posts.map((p) => p.createdAt),
    posts.map((p) => p.updatedAt),
  ]);
}

/** Creates `schema` with the posts table holding every post (the plain app's data). */
export async function provisionPlain(url: string, schema: string, ddl: string, posts: readonly PostJson[]): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench:setup' });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`create schema ${quoteIdent(schema)}`);
    await client.query(`set local search_path to ${quoteIdent(schema)}`);
    await client.query(ddl);
    for (let i = 0; i < posts.length; i += 5000) await insertPosts(client, posts.slice(i, i + 5000));
    await client.query('commit');
    await client.query('vacuum analyze');
  } finally {
    await client.end();
  }
}

/**
 * nestjs-multitenant's tenants: `POST /admin/tenant` (its TenantAdminService: a row in
 * `public.tenants`, then `CREATE SCHEMA tenant_<code>` with autoCreateSchemas), with
 * `enabledEntities: ['post']` so each tenant's DataSource loads the Post entity.
 */
export async function createPeerTenants(base: string, tenants: number, concurrency: number): Promise<void> {
  const started = performance.now();
  await forEachLimit(
    Array.from({ length: tenants }, (_, i) => peerCode(i)),
    concurrency,
    async (code) => {
      await expectStatus(
        `create tenant ${code}`,
        http(base, 'POST', '/admin/tenant', { body: { code, name: `Http ${code}`, enabledEntities: ['post'] } }),
        201,
      );
    },
  );
  log(
    `  nestjs-multitenant: ${tenants} tenants created through POST /admin/tenant in ${((performance.now() - started) / 1000).toFixed(1)} s (${concurrency} at a time)`,
  );
}

/**
 * The package has no tenant migrations for TypeORM (only `synchronize`), so the posts table is
 * created in each tenant schema from the API's migration, as an application would with its own
 * migrations, and filled with the same rows as the reference tenant of the same number.
 */
export async function fillPeerTenants(url: string, ddl: string, tenants: readonly ReferenceTenant[], concurrency: number): Promise<void> {
  const started = performance.now();
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'bench:setup' });
      await c.connect();
      return c;
    }),
  );
  try {
    const free = [...clients];
    await forEachLimit(tenants, concurrency, async (t, i) => {
      const client = free.pop()!;
      try {
        await client.query('begin');
        await client.query(`set local search_path to ${quoteIdent(`tenant_${peerCode(i)}`)}`);
        await client.query(ddl);
        await insertPosts(client, t.posts);
        await client.query('commit');
      } finally {
        free.push(client);
      }
    });
    await clients[0]!.query('vacuum analyze');
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  log(
    `  nestjs-multitenant: posts table and ${tenants.reduce((n, t) => n + t.posts.length, 0)} posts in ${tenants.length} tenant schemas in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** Every post of every tenant, asked for with the headers that select its tenant on one server. */
export function postTargets(
  tenants: readonly ReferenceTenant[],
  headersOf: (tenant: ReferenceTenant, index: number) => Record<string, string>,
): LoadTarget[] {
  return tenants.flatMap((t, i) => {
    const headers = headersOf(t, i);
    return t.posts.map((p) => ({ path: `/posts/${p.id}`, headers, id: p.id, title: p.title }));
  });
}

/** The reference API: the tenant id and that tenant's JWT. */
export function referenceTargets(tenants: readonly ReferenceTenant[]): LoadTarget[] {
  return postTargets(tenants, (t) => ({ 'x-tenant-id': t.id, authorization: `Bearer ${t.token}` }));
}

/** The plain app in tenancy mode: the same tenants, the tenant id only. */
export function tenancyTargets(tenants: readonly ReferenceTenant[]): LoadTarget[] {
  return postTargets(tenants, (t) => ({ 'x-tenant-id': t.id }));
}

export function peerTargets(tenants: readonly ReferenceTenant[]): LoadTarget[] {
  return postTargets(tenants, (_, i) => ({ 'x-tenant-id': peerCode(i) }));
}

/** One post per tenant, rotating through the posts. */
export function sweepTargets(targets: readonly LoadTarget[], postsPerTenant: number): LoadTarget[] {
  const out: LoadTarget[] = [];
  for (let i = 0; i * postsPerTenant < targets.length; i++) out.push(targets[i * postsPerTenant + (i % postsPerTenant)]!);
  return out;
}

/** Another tenant's post with this tenant's headers (and token): must be 404. */
export function crossTenant(targets: readonly LoadTarget[], postsPerTenant: number, count: number): [LoadTarget, number][] {
  const tenants = targets.length / postsPerTenant;
  if (tenants < 2) return [];
  const out: [LoadTarget, number][] = [];
  for (let k = 0; k < count; k++) {
    const a = Math.floor(Math.random() * tenants);
    const b = (a + 1 + Math.floor(Math.random() * (tenants - 1))) % tenants;
    const owner = targets[a * postsPerTenant]!;
    const asker = targets[b * postsPerTenant]!;
    out.push([{ ...owner, headers: asker.headers }, 404]);
  }
  return out;
}

/**
 * Installs the nestjs-multitenant project (`npm install --prefix <dir>`) unless its pinned
 * version is there. Returns why it could not, or undefined.
 */
export function ensurePeerInstalled(peerDir: string): string | undefined {
  const pinned = (JSON.parse(readFileSync(join(peerDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies[
    'nestjs-multitenant'
  ];
  const installed = join(peerDir, 'node_modules', 'nestjs-multitenant', 'package.json');
  if (existsSync(installed) && (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version === pinned) return undefined;
  log(
    `  installing nestjs-multitenant ${pinned} and its NestJS 11 / TypeORM 0.3 stack into bench/peers/nestjs-multitenant (first run only)…`,
  );
  const started = performance.now();
  const r = spawnSync('npm', ['install', '--prefix', peerDir, '--no-audit', '--no-fund'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) return `npm could not be run: ${r.error.message}`;
  if (r.status !== 0) {
    // npm's `code` line and its first message line (not the stack, the proxy hint or the log path).
    const lines = `${r.stderr}`
      .split('\n')
      .filter((l) => /^npm error /.test(l))
      .map((l) => l.slice('npm error '.length).trim());
    const code = lines.find((l) => /^code \S+$/.test(l));
    const message = lines.find(
      (l) => l.length > 20 && !/^(at |code |errno |syscall |A complete log|If you are behind a proxy)/.test(l) && !/^[{}]/.test(l),
    );
    return `npm install --prefix bench/peers/nestjs-multitenant failed (exit ${r.status}): ${
      [code, message]
        .filter((x) => x !== undefined)
        .join(': ')
        .slice(0, 400) || 'no message'
    }`;
  }
  log(`  installed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return undefined;
}
