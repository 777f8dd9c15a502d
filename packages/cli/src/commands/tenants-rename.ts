import { defineCommand } from '../command.js';
import { ACTOR_FLAG } from '../flags.js';

/** `tenantry tenants rename <idOrSlug> <newSlug>` */
export const tenantsRename = defineCommand({
  name: 'tenants rename',
  summary: "Change a tenant's slug (instant: the schema is named after the immutable id)",
  args: [
    { name: 'idOrSlug', required: true, description: "the tenant's id or current slug" },
    { name: 'newSlug', required: true, description: 'the new slug' },
  ],
  flags: { actor: ACTOR_FLAG },
  async run({ args, out, actor, tenancy }) {
    const from = args['idOrSlug']!;
    const tenant = await (await tenancy()).tenants.rename(from, args['newSlug']!, { actor });
    out.result({ tenant }, () => out.print(`Tenant '${from}' is now '${tenant.slug}' (id ${tenant.id}).`));
    return 0;
  },
});
