import { CreatePosts1700000000000 } from './1700000000000-CreatePosts.js';

/**
 * The tenant migrations, oldest first: applied to each tenant when `POST /tenants` creates it,
 * and to every existing tenant by `npm run migration:run:tenant`. Add a new class at the end.
 */
export const TENANT_MIGRATIONS = [CreatePosts1700000000000];
