import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { Body, Controller, Get, Inject, Injectable, Module, NotFoundException, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { desc, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { TenancyModule } from '@tenantry/nestjs';
import { createPostsTenants, importThatThrows, postsStorm } from '@tenantry/testing';
import { drizzleMigrations, type TenantDrizzle } from '../dist/index.js';
import { DRIZZLE, InjectDrizzle, TenantryDrizzleModule } from '../dist/nestjs/index.js';
import * as schema from './fixtures/posts-schema.js';
import { setupHarness } from './helpers.js';

const { posts } = schema;
const h = await setupHarness();
const MIGRATIONS = fileURLToPath(new URL('./fixtures/drizzle-posts', import.meta.url));

type NewPost = typeof posts.$inferInsert;

/** Seed 000's posts service, the Drizzle way: one injected database, no request scope. */
@Injectable()
class PostsService {
  constructor(@InjectDrizzle() private readonly db: TenantDrizzle<typeof schema>) {}

  async create(dto: NewPost) {
    const [post] = await this.db.insert(posts).values(dto).returning();
    return post;
  }

  async findAll() {
    return await this.db.select().from(posts).orderBy(desc(posts.createdAt));
  }

  async findPublished() {
    return await this.db.query.posts.findMany({ where: eq(posts.published, true), orderBy: desc(posts.createdAt) });
  }

  async findOne(id: string) {
    const [post] = await this.db.select().from(posts).where(eq(posts.id, id));
    if (post === undefined) throw new NotFoundException(`Post with ID ${id} not found`);
    return post;
  }

  async import(list: readonly NewPost[]) {
    return await this.db.transaction(async (tx) => {
      const made = [];
      for (const dto of list) made.push(...(await tx.insert(posts).values(dto).returning()));
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

const tenancy = await h.tenancy({ migrations: drizzleMigrations(MIGRATIONS), applicationName: 'drizzle-nest', pool: { max: 10 } });

@Module({ imports: [TenancyModule.forRoot({ tenancy }), TenantryDrizzleModule.forRoot({ schema }), PostsModule] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
afterAll(() => app.close());
await app.listen(0, '127.0.0.1');
const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
const tenants = await createPostsTenants(tenancy, 'dn');

describe('@tenantry/drizzle/nestjs: seed 000 posts over @InjectDrizzle()', () => {
  it('provides one singleton Drizzle database under DRIZZLE', () => {
    expect(app.get(DRIZZLE)).toBe(app.get(PostsService)['db']);
  });

  it('200 concurrent requests over 20 tenants (schema and database): every response holds only its tenant’s rows', async () => {
    expect(tenants.filter((t) => t.isolation === 'database')).toHaveLength(10);
    const { problems, created } = await postsStorm(url, tenants, 200);
    expect(problems).toEqual([]);
    expect([...created.values()].reduce((a, b) => a + b, 0)).toBe(20 * 3 + 60); // seeded, then a quarter of the storm
  }, 180_000);

  it('a db.transaction() that throws leaves nothing, in a schema and in a database tenant', async () => {
    for (const tenant of [tenants[0]!, tenants[10]!]) {
      const r = await importThatThrows(url, tenant);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.after).toEqual(r.before);
      expect(r).toMatchObject({ goodStatus: 201, afterGood: r.before.length + 2 });
    }
  });
});
