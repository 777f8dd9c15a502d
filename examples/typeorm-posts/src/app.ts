import { createTenancy } from '@tenantry/core';
import { typeormMigrations, typeormTenancy } from '@tenantry/typeorm';
import { exampleApp, jsonServer, postsApi, type ExampleApp, type ExampleAppOptions } from '@tenantry/example-http';
import { createDataSource, MIGRATIONS } from './data-source.js';
import { PostsService } from './posts.service.js';

/**
 * Seed 000's app on Tenantry and TypeORM: `/tenants` to create and list tenants, `/posts` (CRUD
 * and `/posts/published`) in the tenant of the `x-tenant-id` header (its id or slug). The routes
 * are `postsApi()`'s, shared with drizzle-posts; what is TypeORM's is here.
 */
export async function createPostsApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const dataSource = createDataSource();
  const tenancy = await createTenancy({
    registryUrl: options.databaseUrl,
    migrations: typeormMigrations({ migrations: MIGRATIONS, dataSource }),
    pool: { max: options.poolMax ?? 10 },
    applicationName: 'typeorm-posts',
  });
  // Existing tenants get migrations added since the last start (nothing to do costs one registry query).
  await tenancy.migrate();
  await typeormTenancy(tenancy, dataSource);
  const posts = new PostsService(dataSource);
  return exampleApp(tenancy, jsonServer(postsApi(tenancy, posts), options.onError));
}
