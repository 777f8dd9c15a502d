import { defineCommand } from '../command.js';
import { ACTOR_FLAG } from '../flags.js';

/** `tenantry tenants resume <idOrSlug>` */
export const tenantsResume = defineCommand({
  name: 'tenants resume',
  summary: 'Make a SUSPENDED tenant ACTIVE again, or retry the migrations of a MIGRATION_FAILED one (idempotent)',
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug" }],
  flags: { actor: ACTOR_FLAG },
  details:
    'A MIGRATION_FAILED tenant is migrated with the current migration files: ACTIVE when they succeed or nothing is pending; when they fail again it stays MIGRATION_FAILED and the error is printed (exit code 1).',
  async run({ args, out, actor, tenancy }) {
    const tenant = await (await tenancy()).tenants.resume(args['idOrSlug']!, { actor });
    out.result({ tenant }, () => out.print(`Tenant '${tenant.slug}' is ${tenant.status}.`));
    return 0;
  },
});
