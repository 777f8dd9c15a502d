import { desc, eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PostInput, PostsStore } from '@tenantry/example-http';
import { posts, type Post } from './schema.js';
import type * as schema from './schema.js';

/**
 * Seed 000's posts service, as plain Drizzle: no tenant in sight. `db` is one database for the
 * whole application; each query runs in the tenant of the request that awaits it.
 */
export class PostsService implements PostsStore<Post> {
  readonly #db: NodePgDatabase<typeof schema>;

  constructor(db: NodePgDatabase<typeof schema>) {
    this.#db = db;
  }

  async create(input: PostInput): Promise<Post> {
    const [post] = await this.#db.insert(posts).values(input).returning();
    return post!;
  }

  async findAll(): Promise<Post[]> {
    return await this.#db.select().from(posts).orderBy(desc(posts.createdAt));
  }

  async findPublished(): Promise<Post[]> {
    return await this.#db.select().from(posts).where(eq(posts.published, true)).orderBy(desc(posts.createdAt));
  }

  async findOne(id: string): Promise<Post | undefined> {
    return (await this.#db.select().from(posts).where(eq(posts.id, id)))[0];
  }

  async update(id: string, patch: Partial<PostInput>): Promise<Post | undefined> {
    return await this.#db.transaction(async (tx) => {
      const [current] = await tx.select().from(posts).where(eq(posts.id, id)).for('update');
      if (current === undefined) return undefined;
      const [post] = await tx
        .update(posts)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(posts.id, id))
        .returning();
      return post;
    });
  }

  async remove(id: string): Promise<boolean> {
    return (await this.#db.delete(posts).where(eq(posts.id, id)).returning({ id: posts.id })).length > 0;
  }
}
