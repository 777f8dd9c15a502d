import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { Body, Controller, Get, Inject, Injectable, Module, NotFoundException, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { TenancyModule } from '@tenantry/nestjs';
import { createPostsTenants, importThatThrows, postsStorm } from '@tenantry/testing';
import { knexMigrations } from '../dist/index.js';
import { InjectKnex, KNEX, TenantryKnexModule } from '../dist/nestjs/index.js';
import { setupHarness } from './helpers.js';

const h = await setupHarness();
const MIGRATIONS = fileURLToPath(new URL('./fixtures/posts', import.meta.url));

interface NewPost {
  readonly id?: string;
  readonly title: string;
  readonly content: string;
  readonly published?: boolean;
}

/** Seed 000's posts service, the Knex way: one injected Knex, no request scope. */
@Injectable()
class PostsService {
  constructor(@InjectKnex() private readonly knex: Knex) {}

  async create(dto: NewPost) {
    const [post] = await this.knex('posts').insert(dto).returning('*');
    return post;
  }

  async findAll() {
    return await this.knex('posts').orderBy('created_at', 'desc');
  }

  async findPublished() {
    return await this.knex('posts').where({ published: true }).orderBy('created_at', 'desc');
  }

  async findOne(id: string) {
    const post = await this.knex('posts').where({ id }).first();
    if (post === undefined) throw new NotFoundException(`Post with ID ${id} not found`);
    return post;
  }

  async import(list: readonly NewPost[]) {
    return await this.knex.transaction(async (trx) => {
      const made = [];
      for (const dto of list) made.push(...(await trx('posts').insert(dto).returning('*')));
      return made;
    });
  }
}

@Controller('posts')
class PostsController {
  constructor(@Inject(PostsService) private readonly posts: PostsService) {}

  @Post() create(@Body() dto: NewPost) {
    return this.posts.create(dto);
  }
  @Get() findAll() {
    return this.posts.findAll();
  }
  @Get('published') findPublished() {
    return this.posts.findPublished();
  }
  @Get(':id') findOne(@Param('id') id: string) {
    return this.posts.findOne(id);
  }
  @Post('import') import(@Body() body: { posts: NewPost[] }) {
    return this.posts.import(body.posts);
  }
}

@Module({ controllers: [PostsController], providers: [PostsService] })
class PostsModule {}

const tenancy = await h.tenancy({ migrations: knexMigrations(MIGRATIONS), applicationName: 'knex-nest', pool: { max: 10 } });

@Module({ imports: [TenancyModule.forRoot({ tenancy }), TenantryKnexModule.forRoot(), PostsModule] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
afterAll(() => app.close());
await app.listen(0, '127.0.0.1');
const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
const tenants = await createPostsTenants(tenancy, 'kn');

describe('@tenantry/knex/nestjs: seed 000 posts over @InjectKnex()', () => {
  it('provides one singleton Knex under KNEX', () => {
    expect(app.get(KNEX)).toBe(app.get(PostsService)['knex']);
  });

  it('200 concurrent requests over 20 tenants (schema and database): every response holds only its tenant’s rows', async () => {
    expect(tenants.filter((t) => t.isolation === 'database')).toHaveLength(10);
    const { problems, created } = await postsStorm(url, tenants, 200);
    expect(problems).toEqual([]);
    expect([...created.values()].reduce((a, b) => a + b, 0)).toBe(20 * 3 + 60); // seeded, then a quarter of the storm
  }, 180_000);

  it('a knex.transaction() that throws leaves nothing, in a schema and in a database tenant', async () => {
    for (const tenant of [tenants[0]!, tenants[10]!]) {
      const r = await importThatThrows(url, tenant);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.after).toEqual(r.before);
      expect(r).toMatchObject({ goodStatus: 201, afterGood: r.before.length + 2 });
    }
  });
});
