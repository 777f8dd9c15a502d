import { BadRequestException, Controller, Get, Headers, Inject, NotFoundException, Param, ParseUUIDPipe } from '@nestjs/common';
import { PostParams } from '@tenantry/api/dist/posts/posts.dto.js';
import type pg from 'pg';

/** Injection token of the {@link PostsDb} the controller queries. */
export const POSTS_DB = Symbol.for('bench:plain:posts-db');

/**
 * What the controller queries: the app's `pg.Pool` (plain mode), or a read-only unit of work of
 * the request's tenant (tenancy mode, see `PlainModule.withTenancy`).
 */
export interface PostsDb {
  query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
}

/** The reference API's query and JSON shape (apps/api/src/posts/posts.service.ts). */
const QUERY = 'select id, title, content, published, created_at, updated_at from posts where id = $1';

interface PostRow {
  id: string;
  title: string;
  content: string;
  published: boolean;
  created_at: Date;
  updated_at: Date;
}

/** `GET /posts/:id`, no auth: on one schema (the baseline of bench:http), or in the request's tenant. */
export class PostsController {
  readonly #db: PostsDb;

  constructor(db: PostsDb) {
    this.#db = db;
  }

  async get(id: string): Promise<Record<string, unknown>> {
    const { rows } = await this.#db.query<PostRow>(QUERY, [id]);
    const r = rows[0];
    if (!r) throw new NotFoundException({ code: 'NOT_FOUND', message: `no post '${id}'` });
    return {
      id: r.id,
      title: r.title,
      content: r.content,
      published: r.published,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }
}

// The bench project compiles with TC39 decorators (no experimentalDecorators), which have no
// parameter decorators; Nest's decorators are applied here as tsc's legacy emit would.
Reflect.decorate([Controller('posts'), (target: object) => Inject(POSTS_DB)(target, undefined, 0)], PostsController);
Reflect.decorate(
  [Get(':id'), (target: object, key: string | symbol) => Param('id', new ParseUUIDPipe())(target, key, 0)],
  PostsController.prototype,
  'get',
  Object.getOwnPropertyDescriptor(PostsController.prototype, 'get'),
);

/**
 * The plain-full row's form of the route, as apps/api's posts controller has it: the params
 * object validated as the API's own `PostParams` DTO (class-validator's `IsUUID`) by the global
 * pipes main.ts installs in that mode (StorableTextPipe, then ValidationPipe with transform), so
 * that the reference API's ratio to this row leaves validation out.
 */
export class ValidatedPostsController {
  readonly #posts: PostsController;

  constructor(db: PostsDb) {
    this.#posts = new PostsController(db);
  }

  async get(params: PostParams): Promise<Record<string, unknown>> {
    return await this.#posts.get(params.id);
  }
}

Reflect.decorate([Controller('posts'), (target: object) => Inject(POSTS_DB)(target, undefined, 0)], ValidatedPostsController);
// What tsc's emitDecoratorMetadata would record: the pipes get the DTO class as the metatype.
Reflect.defineMetadata('design:paramtypes', [PostParams], ValidatedPostsController.prototype, 'get');
Reflect.decorate(
  [Get(':id'), (target: object, key: string | symbol) => Param()(target, key, 0)],
  ValidatedPostsController.prototype,
  'get',
  Object.getOwnPropertyDescriptor(ValidatedPostsController.prototype, 'get'),
);

/** Injection token of the {@link RoutedDb} (the `plain-routed` row). */
export const ROUTED_DB = Symbol.for('bench:plain:routed-db');

/** What the `plain-routed` controller queries: the named tenant's schema, as that tenant's role. */
export interface RoutedDb {
  /** Undefined when `tenant` names no tenant. */
  query<R extends pg.QueryResultRow>(tenant: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> | undefined;
}

/**
 * `GET /posts/:id` in the tenant that `x-tenant-id` names, with no tenancy library, no context and
 * no guard: the controller passes the header to {@link RoutedDb}, which sends the session reset,
 * the route (search_path and role) and the query as one batch. The floor of schema-per-tenant
 * routing in a NestJS app, for the `plain-routed` row.
 */
export class RoutedPostsController {
  readonly #db: RoutedDb;

  constructor(db: RoutedDb) {
    this.#db = db;
  }

  async get(id: string, tenant: string | undefined): Promise<Record<string, unknown>> {
    if (tenant === undefined) throw new BadRequestException({ code: 'TENANT_REQUIRED', message: 'x-tenant-id is required' });
    const tenantDb = this.#db;
    const posts = new PostsController({
      query: <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
        const result = tenantDb.query<R>(tenant, text, values);
        if (result === undefined) throw new NotFoundException({ code: 'TENANT_NOT_FOUND', message: `no tenant '${tenant}'` });
        return result;
      },
    });
    return await posts.get(id);
  }
}

Reflect.decorate([Controller('posts'), (target: object) => Inject(ROUTED_DB)(target, undefined, 0)], RoutedPostsController);
Reflect.decorate(
  [
    Get(':id'),
    (target: object, key: string | symbol) => Param('id', new ParseUUIDPipe())(target, key, 0),
    (target: object, key: string | symbol) => Headers('x-tenant-id')(target, key, 1),
  ],
  RoutedPostsController.prototype,
  'get',
  Object.getOwnPropertyDescriptor(RoutedPostsController.prototype, 'get'),
);
