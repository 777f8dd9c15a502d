import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { runAdapterConformance } from '@tenantry/testing/conformance';
import { knexMigrations, knexTenancy } from '../dist/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

runAdapterConformance<Knex>({
  name: 'knex',
  // Version 2 adds a folder: Knex sorts the files of every folder together.
  migrations: (version) => knexMigrations(version === 1 ? [fixture('items')] : [fixture('items'), fixture('notes')]),
  adapter: (tenancy) => knexTenancy(tenancy),
  ops: {
    insert: async (k, item) => {
      await k('items').insert(item);
    },
    list: async (k) => await k('items').select('owner', 'label'),
    transaction: (k, fn) => k.transaction((trx) => fn(trx)),
    fail: async (k) => await k('items').insert({ owner: 'x', label: null }),
  },
});
