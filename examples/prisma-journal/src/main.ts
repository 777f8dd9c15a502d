/**
 * `npm run -w examples/prisma-journal start`: seed 003's journal API on Tenantry and Prisma.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `$TENANTRY_DATA_DIR/prisma-journal-pg` (default `.tenantry/prisma-journal-pg`). Listens on `PORT` (default 3000).
 */
import { startExample } from '@tenantry/example-http/start';
import { createJournalApp } from './app.js';

await startExample({
  name: 'prisma-journal',
  createApp: createJournalApp,
  usage: (base) => `  curl -X POST ${base}/tenants -H 'content-type: application/json' -d '{"slug":"pt-company-a","name":"PT Company A"}'
  curl ${base}/pt-company-a/accounts
  curl -X POST ${base}/pt-company-a/journals -H 'content-type: application/json' \\
    -d '{"date":"2025-01-15","description":"Cash sale","lines":[{"account":"1000","debit":"150.00"},{"account":"4000","credit":"150.00"}]}'
  curl ${base}/pt-company-a/trial-balance`,
});
