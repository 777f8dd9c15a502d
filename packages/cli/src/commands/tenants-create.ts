import type { IsolationKind } from '@tenantry/core';
import { defineCommand } from '../command.js';
import { ACTOR_FLAG, choiceFlag } from '../flags.js';

const ISOLATIONS: readonly IsolationKind[] = ['schema', 'database'];

/** `tenantry tenants create <slug> --name <name> [--plan <plan>] [--isolation schema|database] [--server <id>] [--physical-name <name>]` */
export const tenantsCreate = defineCommand({
  name: 'tenants create',
  summary: 'Create a tenant: its schema (or database), every migration and the seeds',
  args: [{ name: 'slug', required: true, description: 'unique slug: 3–63 lowercase letters, digits and single hyphens' }],
  flags: {
    name: { type: 'string', value: 'name', required: true, description: "the tenant's display name, 1–200 characters" },
    plan: { type: 'string', value: 'plan', description: 'plan, kept with the tenant' },
    isolation: {
      type: 'string',
      value: 'kind',
      description: 'schema (its own schema) or database (its own database); default: defaultIsolation, else schema',
    },
    server: { type: 'string', value: 'id', description: 'place it on this server; default: the least-loaded server with room' },
    'physical-name': {
      type: 'string',
      value: 'name',
      description: "its schema's (or database's) and role's name, e.g. tenant_acmecorp; default: t_<id>",
    },
    actor: ACTOR_FLAG,
  },
  details: [
    'Example: tenantry tenants create acme --name "Acme Corp" --plan pro',
    '         tenantry tenants create acme --name "Acme Corp" --isolation database --physical-name tenant_acmecorp',
  ].join('\n'),
  async run({ args, flags, out, config, actor, tenancy }) {
    const isolation = choiceFlag(flags.isolation, 'isolation', ISOLATIONS);
    if (config.migrations === undefined)
      out.note(
        'note: no migrations configured (TENANTRY_MIGRATIONS, --migrations or "migrations" in tenantry.config.json); the tenant gets an empty schema',
      );
    const tenant = await (
      await tenancy()
    ).tenants.create(
      {
        slug: args['slug']!,
        name: flags.name!,
        ...(flags.plan === undefined ? {} : { plan: flags.plan }),
        ...(isolation === undefined ? {} : { isolation }),
        ...(flags.server === undefined ? {} : { server: flags.server }),
        ...(flags['physical-name'] === undefined ? {} : { physicalName: flags['physical-name'] }),
      },
      { actor },
    );
    out.result({ tenant }, () =>
      out.print(
        `Created tenant '${tenant.slug}' (id ${tenant.id}): ${tenant.status} at ${tenant.schemaVersion ?? '(no migration)'}, ${tenant.isolation} on server ${tenant.server}.`,
      ),
    );
    return 0;
  },
});
