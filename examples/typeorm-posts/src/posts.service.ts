import type { DataSource, Repository } from 'typeorm';
import type { PostInput, PostsStore } from '@tenantry/example-http';
import { Post } from './post.entity.js';

/**
 * Seed 000's posts service, as plain TypeORM: no tenant in sight. The repository is made once;
 * each call runs in the tenant of the request that made it. TypeORM's "not found" (`null`) is
 * answered as `PostsStore` says: `undefined`.
 */
export class PostsService implements PostsStore<Post> {
  readonly #posts: Repository<Post>;

  constructor(dataSource: DataSource) {
    this.#posts = dataSource.getRepository(Post);
  }

  async create(input: PostInput): Promise<Post> {
    return await this.#posts.save(this.#posts.create(input));
  }

  async findAll(): Promise<Post[]> {
    return await this.#posts.find({ order: { createdAt: 'DESC' } });
  }

  async findPublished(): Promise<Post[]> {
    return await this.#posts.find({ where: { published: true }, order: { createdAt: 'DESC' } });
  }

  async findOne(id: string): Promise<Post | undefined> {
    return (await this.#posts.findOneBy({ id })) ?? undefined;
  }

  async update(id: string, patch: Partial<PostInput>): Promise<Post | undefined> {
    return await this.#posts.manager.transaction(async (em) => {
      const post = await em.findOne(Post, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (post === null) return undefined;
      em.merge(Post, post, patch);
      return await em.save(post);
    });
  }

  async remove(id: string): Promise<boolean> {
    const { affected } = await this.#posts.delete({ id });
    return (affected ?? 0) > 0;
  }
}
