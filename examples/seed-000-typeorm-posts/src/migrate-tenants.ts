/**
 * `npm run migration:run:tenant -w examples/seed-000-typeorm-posts`: seed 000's
 * `yarn migration:run:tenant`. Applies the tenant migrations of
 * `src/modules/tenanted/migrations/index.ts` to every existing tenant, rolling all of them back
 * if any tenant fails; exits 1 then. Same database as `npm start` (`DATABASE_URL`, or the
 * embedded server — the running one, or started for the run).
 */
import { openAppDatabase } from '@tenantry/testing';
import { TENANT_MIGRATIONS } from './modules/tenanted/migrations/index.js';
import { runTenantMigrations } from './tenant-migrations.js';

const db = await openAppDatabase('seed-000-typeorm-posts', 'multi_tenancy_db');
const summary = await runTenantMigrations({
  registryUrl: db.url,
  migrations: TENANT_MIGRATIONS,
  write: (line) => console.log(line),
}).finally(() => db.close());
process.exit(summary.ok ? 0 : 1);
