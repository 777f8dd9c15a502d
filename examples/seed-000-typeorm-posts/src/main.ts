/**
 * `npm start -w examples/seed-000-typeorm-posts`: seed 000 on Tenantry.
 *
 * `DATABASE_URL` (the registry database; tenant schemas go beside it) or an embedded PostgreSQL
 * with its data in `$TENANTRY_DATA_DIR/seed-000-typeorm-posts-pg` (default `.tenantry/…`).
 * Listens on `PORT` (default 3000), `HOST` (default 127.0.0.1).
 */
import { createApp } from './app.js';
import { openAppDatabase } from '@tenantry/testing';

const NAME = 'seed-000-typeorm-posts';

const db = await openAppDatabase(NAME, 'multi_tenancy_db');
const app = await createApp({ registryUrl: db.url }).catch(async (err: unknown) => {
  await db.close();
  throw err;
});
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close().catch((err: unknown) => console.error(err));
  await db.close().catch((err: unknown) => console.error(err));
  process.exit(0);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop());

const port = Number(process.env['PORT'] ?? 3000);
await app.listen(port, process.env['HOST'] ?? '127.0.0.1');
const base = `http://localhost:${(app.getHttpServer().address() as { port: number }).port}`;
console.log(`${NAME} listening on ${base} (registry: ${db.where})

  curl -X POST ${base}/tenants -H "Content-Type: application/json" -d '{"name": "Tenant A", "subdomain": "tenant-a"}'
  curl -X POST ${base}/posts -H "Content-Type: application/json" -H "x-tenant-id: tenant-a" -d '{"title": "Tenant A Post", "content": "A content", "published": true}'
  curl ${base}/posts -H "x-tenant-id: tenant-a"
  npm run migration:run:tenant -w examples/${NAME}   # new tenant migrations, to every tenant`);
