/**
 * `npm run -w examples/typeorm-posts start`: seed 000's posts API on Tenantry and TypeORM.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `$TENANTRY_DATA_DIR/typeorm-posts-pg` (default `.tenantry/typeorm-posts-pg`). Listens on `PORT` (default 3000).
 */
import { postsApiUsage } from '@tenantry/example-http';
import { startExample } from '@tenantry/example-http/start';
import { createPostsApp } from './app.js';

await startExample({ name: 'typeorm-posts', createApp: createPostsApp, usage: postsApiUsage });
