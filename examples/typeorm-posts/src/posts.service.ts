import type { DataSource, Repository } from 'typeorm';
import { Post } from './post.entity.js';

export interface PostInput {
  readonly title: string;
  readonly content: string;
  readonly published?: boolean;
}

/**
 * Seed 000's posts service, as plain TypeORM: no tenant in sight. The repository is made once;
 * each call runs in the tenant of the request that made it.
 */
export class PostsService {
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

  async findOne(id: string): Promise<Post | null> {
    return await this.#posts.findOneBy({ id });
  }

  async update(id: string, patch: Partial<PostInput>): Promise<Post | null> {
    return await this.#posts.manager.transaction(async (em) => {
      const post = await em.findOne(Post, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (post === null) return null;
      em.merge(Post, post, patch);
      return await em.save(post);
    });
  }

  async remove(id: string): Promise<boolean> {
    const { affected } = await this.#posts.delete({ id });
    return (affected ?? 0) > 0;
  }
}
