import { defineCommand } from '../command.js';
import { ACTOR_FLAG } from '../flags.js';

/** `tenantry tenants resume <idOrSlug>` */
export const tenantsResume = defineCommand({
  name: 'tenants resume',
  summary: 'Make a SUSPENDED tenant ACTIVE again (idempotent)',
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug" }],
  flags: { actor: ACTOR_FLAG },
  async run({ args, out, actor, tenancy }) {
    const tenant = await (await tenancy()).tenants.resume(args['idOrSlug']!, { actor });
    out.result({ tenant }, () => out.print(`Tenant '${tenant.slug}' is ${tenant.status}.`));
    return 0;
  },
});
