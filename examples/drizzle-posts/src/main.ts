/**
 * `npm run -w examples/drizzle-posts start`: seed 000's posts API on Tenantry and Drizzle.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `$TENANTRY_DATA_DIR/drizzle-posts-pg` (default `.tenantry/drizzle-posts-pg`). Listens on `PORT` (default 3000).
 */
import { postsApiUsage } from '@tenantry/example-http';
import { startExample } from '@tenantry/example-http/start';
import { createPostsApp } from './app.js';

await startExample({ name: 'drizzle-posts', createApp: createPostsApp, usage: postsApiUsage });
