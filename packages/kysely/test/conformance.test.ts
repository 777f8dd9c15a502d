import { fileURLToPath } from 'node:url';
import { ControlledTransaction, type Kysely } from 'kysely';
import { runAdapterConformance } from '@tenantry/testing/conformance';
import { kyselyMigrations, kyselyTenancy } from '../dist/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Database {
  items: { id?: number; owner: string; label: string };
}

let savepoints = 0;

runAdapterConformance<Kysely<Database>>({
  name: 'kysely',
  // Version 2 adds a folder: the files of every folder are sorted together.
  migrations: (version) => kyselyMigrations(version === 1 ? fixture('items') : [fixture('items'), fixture('notes')]),
  adapter: (tenancy) => kyselyTenancy<Database>(tenancy),
  ops: {
    insert: async (db, item) => {
      await db.insertInto('items').values(item).execute();
    },
    list: (db) => db.selectFrom('items').select(['owner', 'label']).execute(),
    // Kysely's controlled transactions: startTransaction() on a Kysely, savepoint() on a
    // transaction (Kysely's transaction().execute() cannot nest; its own tests are in kysely-adapter.test.ts).
    transaction: async (db, fn) => {
      if (db instanceof ControlledTransaction) {
        const name = `sp${++savepoints}`;
        const sp = await (db as ControlledTransaction<Database, []>).savepoint(name).execute();
        let result;
        try {
          result = await fn(sp as unknown as Kysely<Database>);
        } catch (err) {
          await sp.rollbackToSavepoint(name).execute();
          throw err;
        }
        await sp.releaseSavepoint(name).execute();
        return result;
      }
      const trx = await db.startTransaction().execute();
      let result;
      try {
        result = await fn(trx);
      } catch (err) {
        await trx.rollback().execute();
        throw err;
      }
      await trx.commit().execute();
      return result;
    },
    fail: (db) =>
      db
        .insertInto('items')
        .values({ owner: 'x', label: null as unknown as string })
        .execute(),
  },
});
