import { defineCommand, UsageError } from '../command.js';
import { ACTOR_FLAG } from '../flags.js';

/** `tenantry tenants delete <idOrSlug> --yes` */
export const tenantsDelete = defineCommand({
  name: 'tenants delete',
  summary: 'Delete a tenant: drop its schema (or database) and all its data; the registry row and activity log stay',
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug" }],
  flags: {
    yes: { type: 'boolean', short: 'y', description: 'confirm: required, on a terminal and in scripts alike' },
    actor: ACTOR_FLAG,
  },
  details: 'Without --yes nothing is deleted and the exit code is 2. Deleting again (by id) finishes a delete that was interrupted.',
  async run({ args, flags, out, actor, tenancy }) {
    const ref = args['idOrSlug']!;
    if (flags.yes !== true)
      throw new UsageError(`refusing to delete tenant '${ref}' without --yes: this drops its schema and all its data`);
    const tenant = await (await tenancy()).tenants.delete(ref, { actor });
    out.result({ tenant }, () =>
      out.print(`Tenant '${tenant.slug}' is ${tenant.status}; ${tenant.isolation} ${tenant.physicalName} was dropped.`),
    );
    return 0;
  },
});
