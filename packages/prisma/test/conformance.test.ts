import { fileURLToPath } from 'node:url';
import { runAdapterConformance } from '@tenantry/testing/conformance';
import { prismaMigrations, prismaTenancy } from '../dist/index.js';
import { PrismaClient } from './fixtures/generated/client.js';

const folder = (version: 1 | 2) => fileURLToPath(new URL(`./fixtures/migrations-v${version}`, import.meta.url));

runAdapterConformance<PrismaClient>({
  name: 'prisma',
  migrations: (version) => prismaMigrations(folder(version)),
  // Prisma gives up starting a transaction after maxWait (2 s by default); under a small budget a
  // unit of work may wait longer for a connection (Tenantry's acquireTimeoutMillis is 10 s).
  adapter: (tenancy) =>
    prismaTenancy(tenancy, {
      createClient: (adapter) => new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 30_000 } }),
    }),
  ops: {
    insert: async (prisma, item) => {
      await prisma.item.create({ data: item });
    },
    list: async (prisma) => await prisma.item.findMany({ select: { owner: true, label: true } }),
    // Nested $transaction() calls are savepoints (Prisma 7).
    transaction: (prisma, fn) => prisma.$transaction((tx) => fn(tx as PrismaClient)),
    // Prisma validates a missing required field itself; raw SQL reaches PostgreSQL.
    fail: async (prisma) => await prisma.$executeRaw`insert into items (owner, label) values ('x', null)`,
  },
});
