import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { Body, Controller, Get, Inject, Injectable, Module, NotFoundException, Param, Post, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, describe, expect, it } from 'vitest';
import { TenancyModule } from '@tenantry/nestjs';
import { createPostsTenants, importThatThrows, postsStorm } from '@tenantry/testing';
import { prismaMigrations, type PrismaAdapter } from '../dist/index.js';
import { InjectPrisma, InjectPrismaAdapter, TenantryPrismaModule, tenantPrismaService } from '../dist/nestjs/index.js';
import { PrismaClient } from './fixtures/generated/client.js';
import { setupHarness } from './helpers.js';

const h = await setupHarness();
const MIGRATIONS = fileURLToPath(new URL('./fixtures/migrations-posts', import.meta.url));

interface PostInput {
  readonly id?: string;
  readonly title: string;
  readonly content: string;
  readonly published?: boolean;
}

/** Seed 003's `PrismaService`, as Nest's Prisma recipe writes it (`$connect()` in `onModuleInit`). */
@Injectable()
class PrismaService extends tenantPrismaService(PrismaClient) implements OnModuleInit {
  async onModuleInit(): Promise<void> {
    await this.$connect();
  }
}

/** Seed 000's posts service, the Prisma way. (Vitest emits no decorator metadata: hence `@Inject`.) */
@Injectable()
class PostsService {
  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @InjectPrisma() private readonly client: PrismaClient,
  ) {}

  create(dto: PostInput) {
    return this.prisma.post.create({ data: dto });
  }

  findAll() {
    return this.prisma.post.findMany({ orderBy: { createdAt: 'desc' } });
  }

  findPublished() {
    return this.client.post.findMany({ where: { published: true }, orderBy: { createdAt: 'desc' } });
  }

  async findOne(id: string) {
    const post = await this.prisma.post.findUnique({ where: { id } });
    if (post === null) throw new NotFoundException(`Post with ID ${id} not found`);
    return post;
  }

  /** An interactive transaction. */
  import(posts: readonly PostInput[]) {
    return this.prisma.$transaction(async (tx) => {
      const made = [];
      for (const data of posts) made.push(await tx.post.create({ data }));
      return made;
    });
  }

  /** A batch transaction, on the `@InjectPrisma()` client. */
  importBatch(posts: readonly PostInput[]) {
    return this.client.$transaction(posts.map((data) => this.client.post.create({ data })));
  }
}

@Controller('posts')
class PostsController {
  constructor(@Inject(PostsService) private readonly posts: PostsService) {}

  @Post() create(@Body() dto: PostInput) {
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
  @Post('import') import(@Body() body: { posts: PostInput[] }) {
    return this.posts.import(body.posts);
  }
  @Post('import-batch') importBatch(@Body() body: { posts: PostInput[] }) {
    return this.posts.importBatch(body.posts);
  }
}

@Controller('stats')
class StatsController {
  constructor(@InjectPrismaAdapter() private readonly adapter: PrismaAdapter<PrismaClient>) {}
  @Get() stats() {
    return this.adapter.stats();
  }
}

@Module({ controllers: [PostsController, StatsController], providers: [PrismaService, PostsService] })
class PostsModule {}

const tenancy = await h.tenancy({ migrations: prismaMigrations(MIGRATIONS), applicationName: 'prisma-nest', pool: { max: 10 } });

@Module({
  imports: [
    TenancyModule.forRoot({ tenancy }),
    TenantryPrismaModule.forRoot({ client: PrismaClient, clientOptions: { transactionOptions: { maxWait: 10_000 } } }),
    PostsModule,
  ],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
afterAll(() => app.close());
await app.listen(0, '127.0.0.1');
const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
const tenants = await createPostsTenants(tenancy, 'pn');

describe('@tenantry/prisma/nestjs: seed 000 posts over a PrismaService', () => {
  it('boots with the context client as a provider and PrismaService.onModuleInit calling $connect()', () => {
    // On the old proxy, Nest's probes of `constructor` and `onModuleInit` threw TENANT_REQUIRED at boot.
    expect(app.get(PrismaService)).toBeInstanceOf(PrismaService);
  });

  it('200 concurrent requests over 20 tenants (schema and database): every response holds only its tenant’s rows', async () => {
    expect(tenants.filter((t) => t.isolation === 'database')).toHaveLength(10);
    const { problems, created } = await postsStorm(url, tenants, 200);
    expect(problems).toEqual([]);
    expect([...created.values()].reduce((a, b) => a + b, 0)).toBe(20 * 3 + 60); // seeded, then a quarter of the storm
  }, 180_000);

  it('an interactive $transaction that throws leaves nothing, in a schema and in a database tenant', async () => {
    for (const tenant of [tenants[0]!, tenants[10]!]) {
      const r = await importThatThrows(url, tenant, '/posts/import');
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.after).toEqual(r.before);
      expect(r).toMatchObject({ goodStatus: 201, afterGood: r.before.length + 2 });
    }
  });

  it('a batch $transaction([…]) that throws leaves nothing, in a schema and in a database tenant', async () => {
    for (const tenant of [tenants[1]!, tenants[11]!]) {
      const r = await importThatThrows(url, tenant, '/posts/import-batch');
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.after).toEqual(r.before);
      expect(r).toMatchObject({ goodStatus: 201, afterGood: r.before.length + 2 });
    }
  });
});
