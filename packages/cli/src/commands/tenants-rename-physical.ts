import { defineCommand, UsageError } from '../command.js';
import { ACTOR_FLAG, intFlag } from '../flags.js';

/** `tenantry tenants rename-physical <tenant> <name> [--drain-ms <ms>]` */
export const tenantsRenamePhysical = defineCommand({
  name: 'tenants rename-physical',
  summary: "Rename a tenant's schema or database (and its role) on its server",
  args: [
    { name: 'tenant', required: true, description: "the tenant's id or slug" },
    { name: 'name', required: true, description: 'the new name, e.g. tenant_acme_corp: lowercase letters, digits and underscores' },
  ],
  flags: {
    'drain-ms': {
      type: 'string',
      value: 'ms',
      description: "a database tenant's open connections get this long before they are terminated (default 5000)",
    },
    actor: ACTOR_FLAG,
  },
  details: [
    'A database cannot be renamed while anyone is connected to it: connections to it are closed,',
    'then terminated after --drain-ms (their units of work fail). A schema is renamed at once.',
    'Crash-safe: a rename interrupted midway is finished or undone by the next start (reconcile).',
    'Example: tenantry tenants rename-physical acme tenant_acme_corp',
  ].join('\n'),
  async run({ args, flags, out, actor, tenancy }) {
    const drainMs = intFlag(flags['drain-ms'], 'drain-ms', 0);
    if (drainMs !== undefined && drainMs > 60_000) throw new UsageError('--drain-ms must be at most 60000');
    const from = args['tenant']!;
    const tenant = await (
      await tenancy()
    ).tenants.renamePhysical(from, args['name']!, { actor, ...(drainMs === undefined ? {} : { drainMs }) });
    out.result({ tenant }, () =>
      out.print(
        `Tenant '${tenant.slug}' (id ${tenant.id}): its ${tenant.isolation} is now ${tenant.physicalName} on server ${tenant.server}.`,
      ),
    );
    return 0;
  },
});
