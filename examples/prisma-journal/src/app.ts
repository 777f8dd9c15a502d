import { fileURLToPath } from 'node:url';
import { createTenancy, type Tenant } from '@tenantry/core';
import { prismaMigrations, prismaTenancy, type PrismaAdapter } from '@tenantry/prisma';
import {
  exampleApp,
  HttpError,
  jsonServer,
  type ExampleApp,
  type ExampleAppOptions,
  type Route,
  type RouteContext,
} from '@tenantry/example-http';
import { PrismaClient } from './generated/prisma/client.js';
import { JournalError, JournalService, type JournalEntryInput } from './journal.service.js';

/** `databaseUrl` is the registry, seed 003's `nusa_journal_registry` (any PostgreSQL). */
export interface JournalAppOptions extends ExampleAppOptions {
  /** Tenant Prisma clients kept (seed 003: 50). */
  readonly maxClients?: number;
}

export interface JournalApp extends ExampleApp {
  /** The Prisma clients per company; `close()` closes them. */
  readonly prisma: PrismaAdapter<PrismaClient>;
}

/** `prisma/` beside `dist/` (this file is `dist/app.js`). */
const PRISMA = (path: string) => fileURLToPath(new URL(`../prisma/${path}`, import.meta.url));
/** First path segments that are routes, not tenants. */
const RESERVED = new Set(['tenants', 'admin', 'health']);

function tenantJson(t: Tenant): Record<string, unknown> {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    status: t.status,
    isolation: t.isolation,
    database: t.physicalName,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
  };
}

/**
 * Seed 003 on Tenantry: a database per company, the company in the path (`/:tenantSlug/...`),
 * one cached Prisma client per company (LRU, 30 min idle), the chart of accounts seeded in every
 * new company.
 */
export async function createJournalApp(options: JournalAppOptions): Promise<JournalApp> {
  const tenancy = await createTenancy({
    registryUrl: options.databaseUrl,
    migrations: prismaMigrations(PRISMA('migrations')),
    seeds: PRISMA('seeds'),
    defaultIsolation: 'database',
    pool: { max: options.poolMax ?? 10 },
    applicationName: 'prisma-journal',
  });
  await tenancy.migrate();
  const prisma = prismaTenancy(tenancy, {
    // maxWait: starting a transaction may wait for a connection within the server's budget.
    createClient: (adapter) => new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000 } }),
    maxClients: options.maxClients ?? 50,
    idleTimeoutMs: 30 * 60_000,
  });
  const journal = new JournalService(prisma.client);

  /** Seed 003's tenant middleware: the first path segment is the tenant; the handler runs in it. */
  const inTenant = (handle: (ctx: RouteContext) => Promise<{ status: number; body?: unknown }>) => async (ctx: RouteContext) => {
    try {
      return await tenancy.run(ctx.params['tenantSlug']!, () => handle(ctx));
    } catch (err) {
      if (err instanceof JournalError) throw new HttpError(400, err.message);
      throw err;
    }
  };

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/health',
      handle: async () => ({ status: 200, body: { status: 'ok', registryMs: Math.round(await tenancy.ping()) } }),
    },
    {
      method: 'POST',
      path: '/tenants',
      handle: async ({ body }) => {
        const b = (body ?? {}) as Record<string, unknown>;
        if (typeof b['name'] !== 'string' || b['name'].trim() === '') throw new HttpError(400, 'name must be a non-empty string');
        if (typeof b['slug'] !== 'string') throw new HttpError(400, 'slug must be a string, e.g. pt-media-nusa');
        if (RESERVED.has(b['slug'])) throw new HttpError(400, `'${b['slug']}' is a reserved path`);
        // Database created, migrations applied, chart of accounts seeded, ACTIVE — or nothing left.
        return { status: 201, body: tenantJson(await tenancy.tenants.create({ slug: b['slug'], name: b['name'] })) };
      },
    },
    {
      method: 'GET',
      path: '/tenants',
      handle: async () => ({ status: 200, body: (await tenancy.tenants.list({ limit: 1000 })).items.map(tenantJson) }),
    },
    {
      method: 'GET',
      path: '/admin/stats',
      handle: async () => ({ status: 200, body: { prismaClients: prisma.stats(), servers: tenancy.stats().servers } }),
    },
    { method: 'GET', path: '/:tenantSlug/accounts', handle: inTenant(async () => ({ status: 200, body: await journal.accounts() })) },
    { method: 'GET', path: '/:tenantSlug/journals', handle: inTenant(async () => ({ status: 200, body: await journal.entries() })) },
    {
      method: 'POST',
      path: '/:tenantSlug/journals',
      handle: inTenant(async ({ body }) => ({ status: 201, body: await journal.record((body ?? {}) as JournalEntryInput) })),
    },
    {
      method: 'GET',
      path: '/:tenantSlug/journals/:id',
      handle: inTenant(async ({ params }) => {
        const id = Number(params['id']);
        const entry = Number.isInteger(id) && id > 0 && id < 2 ** 31 ? await journal.entry(id) : undefined;
        if (entry === undefined) throw new HttpError(404, `journal entry ${params['id']} not found`);
        return { status: 200, body: entry };
      }),
    },
    {
      method: 'GET',
      path: '/:tenantSlug/trial-balance',
      handle: inTenant(async () => ({ status: 200, body: await journal.trialBalance() })),
    },
  ];
  const app = exampleApp(tenancy, jsonServer(routes, options.onError), { closeBeforeTenancy: () => prisma.close() });
  return { ...app, prisma };
}
