/**
 * `npm start -w examples/seed-004-knex-orgs`: seed 004 on Tenantry.
 *
 * `DATABASE_URL` (the registry — seed 004's `master`; organisation databases go on the same
 * server) or an embedded PostgreSQL with its data in `$TENANTRY_DATA_DIR/seed-004-knex-orgs-pg`
 * (default `.tenantry/…`). Listens on `PORT` (default 3000), `HOST` (default 127.0.0.1).
 */
import { createApp } from './app.js';
import { openAppDatabase } from '@tenantry/testing';

const NAME = 'seed-004-knex-orgs';

const db = await openAppDatabase(NAME, 'master');
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

  curl -X POST ${base}/org/create -H "Content-Type: application/json" -d '{"name": "AcmeCorp"}'
  curl -X POST ${base}/org/acmecorp/users -H "Content-Type: application/json" -d '{"name": "Ada", "email": "ada@acme.test"}'
  curl ${base}/org/acmecorp/users`);
