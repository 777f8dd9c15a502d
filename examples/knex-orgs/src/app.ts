import { fileURLToPath } from 'node:url';
import { createTenancy, sqlState, type Tenant } from '@tenantry/core';
import { knexMigrations, knexTenancy } from '@tenantry/knex';
import {
  exampleApp,
  HttpError,
  jsonServer,
  slugify,
  type ExampleApp,
  type ExampleAppOptions,
  type Route,
  type RouteContext,
} from '@tenantry/example-http';
import { UnknownUser, UsersService } from './users.service.js';

/** Seed 004's Knex migrations folder, beside `dist/` (this file is `dist/app.js`). */
const MIGRATIONS = fileURLToPath(new URL('../migrations', import.meta.url));

function orgJson(t: Tenant): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    database: t.physicalName,
    status: t.status,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
  };
}

function text(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.trim() === '') throw new HttpError(400, `${key} must be a non-empty string`);
  return value.trim();
}

/**
 * Seed 004 on Tenantry: `POST /org/create` registers an organisation and creates its own
 * database with the Knex migrations applied; `/org/:org/users` are the organisation's users,
 * through one Knex instance routed per request (seed 004's "future enhancements").
 * `options.databaseUrl` is the registry, seed 004's `master` (any PostgreSQL).
 */
export async function createOrgsApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const tenancy = await createTenancy({
    registryUrl: options.databaseUrl,
    migrations: knexMigrations(MIGRATIONS),
    defaultIsolation: 'database',
    pool: { max: options.poolMax ?? 10 },
    applicationName: 'knex-orgs',
  });
  // Organisations created before a new migration was added get it now.
  await tenancy.migrate();
  const { knex } = knexTenancy(tenancy);
  const users = new UsersService(knex);

  /** Runs the handler in the organisation of the path: the one place tenancy appears. */
  const inOrg = (handle: (ctx: RouteContext) => Promise<{ status: number; body?: unknown }>) => async (ctx: RouteContext) =>
    await tenancy.run(ctx.params['org']!, () => handle(ctx));

  const routes: Route[] = [
    {
      method: 'POST',
      path: '/org/create',
      handle: async ({ body }) => {
        const b = (body ?? {}) as Record<string, unknown>;
        const name = text(b, 'name');
        // "AcmeCorp" → "acmecorp", as seed 004 names `tenant_acmecorp`.
        const slug = typeof b['slug'] === 'string' ? b['slug'] : slugify(name);
        // Registers the organisation, creates its database and runs the Knex migrations in it;
        // a failure leaves nothing half-made.
        return { status: 201, body: orgJson(await tenancy.tenants.create({ slug, name })) };
      },
    },
    {
      method: 'GET',
      path: '/org',
      handle: async () => ({ status: 200, body: (await tenancy.tenants.list({ limit: 1000 })).items.map(orgJson) }),
    },
    { method: 'GET', path: '/org/:org/users', handle: inOrg(async () => ({ status: 200, body: await users.list() })) },
    {
      method: 'POST',
      path: '/org/:org/users',
      handle: inOrg(async ({ body }) => {
        const b = (body ?? {}) as Record<string, unknown>;
        try {
          return { status: 201, body: await users.create({ name: text(b, 'name'), email: text(b, 'email') }) };
        } catch (err) {
          if (sqlState(err) === '23505') throw new HttpError(409, `a user with email ${String(b['email'])} exists`);
          throw err;
        }
      }),
    },
    {
      method: 'POST',
      path: '/org/:org/users/rename',
      handle: inOrg(async ({ body }) => {
        const changes = (body as { changes?: unknown } | undefined)?.changes;
        if (
          !Array.isArray(changes) ||
          !changes.every((c: { id?: unknown; name?: unknown }) => Number.isInteger(c?.id) && typeof c?.name === 'string')
        ) {
          throw new HttpError(400, 'send { changes: [{ id, name }, …] }');
        }
        try {
          return { status: 200, body: { renamed: await users.rename(changes as { id: number; name: string }[]) } };
        } catch (err) {
          if (err instanceof UnknownUser) throw new HttpError(404, `${err.message}; nothing was renamed`);
          throw err;
        }
      }),
    },
  ];
  return exampleApp(tenancy, jsonServer(routes, options.onError));
}
