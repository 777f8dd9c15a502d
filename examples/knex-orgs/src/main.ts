/**
 * `npm run -w examples/knex-orgs start`: seed 004's organisations API on Tenantry and Knex.
 *
 * Uses `DATABASE_URL` when set; otherwise an embedded PostgreSQL whose data is kept in
 * `$TENANTRY_DATA_DIR/knex-orgs-pg` (default `.tenantry/knex-orgs-pg`). Listens on `PORT` (default 3000).
 */
import { startExample } from '@tenantry/example-http/start';
import { createOrgsApp } from './app.js';

await startExample({
  name: 'knex-orgs',
  createApp: createOrgsApp,
  usage: (base) => `  curl -X POST ${base}/org/create -H 'content-type: application/json' -d '{"name":"AcmeCorp"}'
  curl -X POST ${base}/org/acmecorp/users -H 'content-type: application/json' -d '{"name":"Ada","email":"ada@acme.test"}'
  curl ${base}/org/acmecorp/users`,
});
