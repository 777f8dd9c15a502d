import 'reflect-metadata';
import { DataSource, type EntityManager } from 'typeorm';
import { runAdapterConformance } from '@tenantry/testing/conformance';
import { typeormMigrations, typeormTenancy } from '../dist/index.js';
import { Item, Note } from './fixtures/entities.js';
import { AddNotes1700000000002, CreateItems1700000000001 } from './fixtures/migrations.js';

runAdapterConformance<EntityManager>({
  name: 'typeorm',
  migrations: (version) =>
    typeormMigrations({ migrations: version === 1 ? [CreateItems1700000000001] : [CreateItems1700000000001, AddNotes1700000000002] }),
  adapter: (tenancy) => typeormTenancy(tenancy, new DataSource({ type: 'postgres', entities: [Item, Note] })),
  ops: {
    insert: async (em, item) => {
      await em.save(em.create(Item, item));
    },
    list: async (em) => (await em.find(Item)).map(({ owner, label }) => ({ owner, label })),
    transaction: (em, fn) => em.transaction(fn),
    fail: (em) => em.insert(Item, { owner: 'x', label: null as unknown as string }),
  },
});
