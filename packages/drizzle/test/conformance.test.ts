import { fileURLToPath } from 'node:url';
import { runAdapterConformance } from '@tenantry/testing/conformance';
import { drizzleMigrations, drizzleTenancy, type TenantDrizzle } from '../dist/index.js';
import * as schema from './fixtures/schema.js';

const folder = (version: 1 | 2) => fileURLToPath(new URL(`./fixtures/drizzle-v${version}`, import.meta.url));

runAdapterConformance<TenantDrizzle<typeof schema>>({
  name: 'drizzle',
  migrations: (version) => drizzleMigrations(folder(version)),
  adapter: (tenancy) => drizzleTenancy(tenancy, { schema }),
  ops: {
    insert: async (db, item) => {
      await db.insert(schema.items).values(item);
    },
    // Awaited here: a Drizzle query is a lazy thenable, run only when awaited.
    list: async (db) => await db.select({ owner: schema.items.owner, label: schema.items.label }).from(schema.items),
    transaction: (db, fn) => db.transaction((tx) => fn(tx as unknown as TenantDrizzle<typeof schema>)),
    fail: async (db) => await db.insert(schema.items).values({ owner: 'x', label: null as unknown as string }),
  },
});
