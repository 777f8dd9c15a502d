/**
 * `npm start -w examples/seed-001-typeorm-databases`: seed 001 on Tenantry.
 *
 * `DATABASE_URL` (the master database, where the registry goes; tenant databases go on the same
 * server) or an embedded PostgreSQL with its data in `$TENANTRY_DATA_DIR/seed-001-typeorm-databases-pg`
 * (default `.tenantry/…`). `READ_DATABASE_URL`: the server's read replica; without it, reads go
 * to the same server through the replica route (read-only units of work on a pool of their own).
 * Listens on `PORT` (default 3000), `HOST` (default 127.0.0.1).
 */
import { createApp } from './app.js';
import { encryptionKey } from './encryption-key.js';
import { openAppDatabase } from '@tenantry/testing';

const NAME = 'seed-001-typeorm-databases';

const db = await openAppDatabase(NAME, 'master');
const key = encryptionKey(NAME);
const replica = process.env['READ_DATABASE_URL'] || db.url;
const app = await createApp({ registryUrl: db.url, readReplicaUrl: replica, encryptionKey: key.key }).catch(async (err: unknown) => {
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
console.log(`${NAME} listening on ${base} (master: ${db.where}; reads: ${process.env['READ_DATABASE_URL'] ? 'READ_DATABASE_URL' : 'the same server, replica route'}; key: ${key.where})

  curl -X POST ${base}/tenant-databases -H "Content-Type: application/json" -d '{"tenantId": "acme", "databaseName": "tenant_abc123"}'
  curl -X POST ${base}/customers -H "Content-Type: application/json" -H "x-tenant-id: acme" -d '{"name": "Ada", "email": "ada@acme.test"}'
  curl ${base}/customers -H "x-tenant-id: acme"
  curl -X PATCH ${base}/tenant-databases/acme -H "Content-Type: application/json" -d '{"databaseName": "tenant_acme"}'
  curl ${base}/tenant-databases/acme`);
