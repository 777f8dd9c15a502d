import { Controller, Get, Inject, NotFoundException, Param, ParseUUIDPipe } from '@nestjs/common';
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
