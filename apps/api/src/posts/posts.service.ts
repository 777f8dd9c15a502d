import { Injectable, NotFoundException } from '@nestjs/common';
import type { Tenancy } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';

/** A post as the API shows it (seed 000's shape). */
export interface Post {
  readonly id: string;
  readonly title: string;
  readonly content: string;
  readonly published: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface PostRow {
  id: string;
  title: string;
  content: string;
  published: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, title, content, published, created_at, updated_at';

function toPost(r: PostRow): Post {
  return {
    id: r.id,
    title: r.title,
    content: r.content,
    published: r.published,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function notFound(id: string): NotFoundException {
  return new NotFoundException({ code: 'NOT_FOUND', message: `no post '${id}'` });
}

/**
 * Posts live in each tenant's schema. Every method runs `tenancy.withTenant(fn)` without naming
 * a tenant: the request's tenant comes from the AsyncLocalStorage context the middleware
 * entered, so this service cannot reach another tenant's posts. Values are bind parameters.
 */
@Injectable()
export class PostsService {
  readonly #tenancy: Tenancy;

  constructor(@InjectTenancy() tenancy: Tenancy) {
    this.#tenancy = tenancy;
  }

  async create(input: { title: string; content: string; published?: boolean | undefined }): Promise<Post> {
    return await this.#tenancy.withTenant(async (db) => {
      const { rows } = await db.query<PostRow>(`insert into posts (title, content, published) values ($1, $2, $3) returning ${COLUMNS}`, [
        input.title,
        input.content,
        input.published ?? false,
      ]);
      return toPost(rows[0]!);
    });
  }

  async list(options: { publishedOnly: boolean; limit: number; offset: number }): Promise<Post[]> {
    return await this.#tenancy.withTenant(
      async (db) => {
        const { rows } = await db.query<PostRow>(
          `select ${COLUMNS} from posts where ($1::boolean is false or published) order by created_at desc, id limit $2 offset $3`,
          [options.publishedOnly, options.limit, options.offset],
        );
        return rows.map(toPost);
      },
      { readOnly: true },
    );
  }

  async get(id: string): Promise<Post> {
    return await this.#tenancy.withTenant(
      async (db) => {
        const { rows } = await db.query<PostRow>(`select ${COLUMNS} from posts where id = $1`, [id]);
        if (!rows[0]) throw notFound(id);
        return toPost(rows[0]);
      },
      { readOnly: true },
    );
  }

  async update(
    id: string,
    patch: { title?: string | undefined; content?: string | undefined; published?: boolean | undefined },
  ): Promise<Post> {
    return await this.#tenancy.withTenant(async (db) => {
      const { rows } = await db.query<PostRow>(
        `update posts set title = coalesce($2, title), content = coalesce($3, content), published = coalesce($4, published), updated_at = now()
          where id = $1 returning ${COLUMNS}`,
        [id, patch.title ?? null, patch.content ?? null, patch.published ?? null],
      );
      if (!rows[0]) throw notFound(id);
      return toPost(rows[0]);
    });
  }

  async remove(id: string): Promise<void> {
    await this.#tenancy.withTenant(async (db) => {
      const { rowCount } = await db.query('delete from posts where id = $1', [id]);
      if (!rowCount) throw notFound(id);
    });
  }
}
