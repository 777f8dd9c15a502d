/**
 * `npm start -w examples/seed-003-prisma-accounting`: seed 003 on Tenantry.
 *
 * `DATABASE_URL` (the registry — seed 003's `nusa_journal_registry`; company databases go on the
 * same server) or an embedded PostgreSQL with its data in
 * `$TENANTRY_DATA_DIR/seed-003-prisma-accounting-pg` (default `.tenantry/…`). Listens on `PORT`
 * (default 3000), `HOST` (default 127.0.0.1).
 */
import { openAppDatabase } from '@tenantry/testing';
import { createApp } from './app.js';

const NAME = 'seed-003-prisma-accounting';

const db = await openAppDatabase(NAME, 'nusa_journal_registry');
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

  curl -X POST ${base}/tenants -H 'Content-Type: application/json' -d '{"slug": "pt-media-nusa", "name": "PT Media Nusa", "plan": "STARTER"}'
  curl ${base}/pt-media-nusa/accounts
  curl -X POST ${base}/pt-media-nusa/users -H 'Content-Type: application/json' -d '{"email": "sari@medianusa.test", "name": "Sari"}'
  curl ${base}/tenants/pt-media-nusa/activity`);
