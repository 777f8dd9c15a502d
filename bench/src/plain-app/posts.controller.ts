import { Controller, Get, Inject, NotFoundException, Param, ParseUUIDPipe } from '@nestjs/common';
import type pg from 'pg';

/** Injection token of the app's `pg.Pool`. */
export const PLAIN_POOL = Symbol.for('bench:plain:pool');

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

/** `GET /posts/:id` on one schema: no tenant, no auth — the baseline of bench:http. */
export class PostsController {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async get(id: string): Promise<Record<string, unknown>> {
    const { rows } = await this.#pool.query<PostRow>(QUERY, [id]);
    const r = rows[0];
    if (!r) throw new NotFoundException({ code: 'NOT_FOUND', message: `no post '${id}'` });
    return { id: r.id, title: r.title, content: r.content, published: r.published, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() };
  }
}

// The bench project compiles with TC39 decorators (no experimentalDecorators), which have no
// parameter decorators; Nest's decorators are applied here as tsc's legacy emit would.
Reflect.decorate([Controller('posts'), (target: object) => Inject(PLAIN_POOL)(target, undefined, 0)], PostsController);
Reflect.decorate(
  [Get(':id'), (target: object, key: string | symbol) => Param('id', new ParseUUIDPipe())(target, key, 0)],
  PostsController.prototype,
  'get',
  Object.getOwnPropertyDescriptor(PostsController.prototype, 'get'),
);
