import { defineCommand } from '../command.js';
import { ACTOR_FLAG } from '../flags.js';

/** `tenantry tenants suspend <idOrSlug> [--reason <text>]` */
export const tenantsSuspend = defineCommand({
  name: 'tenants suspend',
  summary: 'Suspend an ACTIVE tenant: its units of work fail with TENANT_SUSPENDED (idempotent)',
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug" }],
  flags: {
    reason: { type: 'string', value: 'text', description: 'why, kept in the activity log' },
    actor: ACTOR_FLAG,
  },
  async run({ args, flags, out, actor, tenancy }) {
    const tenant = await (
      await tenancy()
    ).tenants.suspend(args['idOrSlug']!, { actor, ...(flags.reason === undefined ? {} : { reason: flags.reason }) });
    out.result({ tenant }, () =>
      out.print(`Tenant '${tenant.slug}' is ${tenant.status}. Resume it with: tenantry tenants resume ${tenant.slug}`),
    );
    return 0;
  },
});
