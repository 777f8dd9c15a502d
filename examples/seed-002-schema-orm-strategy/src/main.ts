/**
 * `npm start -w examples/seed-002-schema-orm-strategy`: seed 002 on Tenantry.
 *
 * `ORM=typeorm|drizzle` (default typeorm). `DATABASE_URL` (the registry; tenant schemas go
 * beside it) or an embedded PostgreSQL with its data in
 * `$TENANTRY_DATA_DIR/seed-002-schema-orm-strategy-pg` (default `.tenantry/…`) — the same data
 * under either ORM. `TENANT_BASE_DOMAIN` (default `localhost`): tenants as its subdomains.
 * Listens on `PORT` (default 3000), `HOST` (default 127.0.0.1).
 */
import { createApp } from './app.js';
import { ormConfigFromEnv } from './orm/orm-config.js';
import { openAppDatabase } from '@tenantry/testing';

const NAME = 'seed-002-schema-orm-strategy';

const orm = ormConfigFromEnv();
const baseDomain = process.env['TENANT_BASE_DOMAIN'] || 'localhost';
const db = await openAppDatabase(NAME, 'multitenant_db');
const app = await createApp({ registryUrl: db.url, orm, baseDomain }).catch(async (err: unknown) => {
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
const { port: bound } = app.getHttpServer().address() as { port: number };
const base = `http://localhost:${bound}`;
console.log(`${NAME} (ORM=${orm.type}) listening on ${base} (registry: ${db.where})

  curl -X POST ${base}/tenants -H "Content-Type: application/json" -d '{"name": "Tenant 1", "slug": "tenant-1", "schema": "tenant_1"}'
  curl -X POST ${base}/users -H "Content-Type: application/json" -H "x-tenant-id: tenant-1" -d '{"name": "Ada", "email": "ada@example.com"}'
  curl http://tenant-1.${baseDomain}:${bound}/users          # the subdomain
  curl "${base}/users?tenant=tenant-1"                       # the query parameter
  curl ${base}/monitoring/connections
  curl -o tenant-1.tenantry ${base}/tenants/tenant-1/backup
  curl -X POST ${base}/tenants/tenant-1/restore -H "Content-Type: application/octet-stream" --data-binary @tenant-1.tenantry`);
