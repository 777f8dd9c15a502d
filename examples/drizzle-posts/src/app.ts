import { fileURLToPath } from 'node:url';
import { createTenancy } from '@tenantry/core';
import { drizzleMigrations, drizzleTenancy } from '@tenantry/drizzle';
import { exampleApp, jsonServer, postsApi, type ExampleApp, type ExampleAppOptions } from '@tenantry/example-http';
import * as schema from './schema.js';
import { PostsService } from './posts.service.js';

/** drizzle-kit's output folder, beside `dist/` (this file is `dist/app.js`). */
const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));

/**
 * Seed 000's app on Tenantry and Drizzle: `/tenants` to create and list tenants, `/posts` (CRUD
 * and `/posts/published`) in the tenant of the `x-tenant-id` header (its id or slug). The routes
 * are `postsApi()`'s, shared with typeorm-posts; what is Drizzle's is here.
 */
export async function createPostsApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const tenancy = await createTenancy({
    registryUrl: options.databaseUrl,
    migrations: drizzleMigrations(MIGRATIONS),
    pool: { max: options.poolMax ?? 10 },
    applicationName: 'drizzle-posts',
  });
  // Existing tenants get migrations added since the last start (nothing to do costs one registry query).
  await tenancy.migrate();
  const { db } = drizzleTenancy(tenancy, { schema });
  const posts = new PostsService(db);
  return exampleApp(tenancy, jsonServer(postsApi(tenancy, posts), options.onError));
}
