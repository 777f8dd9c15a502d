import { DataSource } from 'typeorm';
import { CreatePosts1700000000000 } from './migrations/1700000000000-CreatePosts.js';
import { Post } from './post.entity.js';

/**
 * The application's one DataSource. It is never initialized: Tenantry builds its metadata and
 * gives its query runners the current tenant's connection. `pgcrypto`'s `gen_random_uuid()` is
 * built into PostgreSQL 13+ (pg_catalog), so uuid keys need no extension in the tenant.
 */
export function createDataSource(): DataSource {
  return new DataSource({ type: 'postgres', entities: [Post], migrations: [CreatePosts1700000000000], uuidExtension: 'pgcrypto' });
}

export const MIGRATIONS = [CreatePosts1700000000000];
