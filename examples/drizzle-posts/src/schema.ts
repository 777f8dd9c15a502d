import { boolean, index, pgTable, text, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';

/**
 * Seed 000's posts, as a Drizzle table. Declared with pgTable() and no pgSchema(): Tenantry
 * puts every statement in its tenant's schema (or database).
 */
export const posts = pgTable(
  'posts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    title: varchar('title').notNull(),
    content: text('content').notNull(),
    published: boolean('published').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('posts_published_created_at_idx').on(t.published, t.createdAt)],
);

export type Post = typeof posts.$inferSelect;
