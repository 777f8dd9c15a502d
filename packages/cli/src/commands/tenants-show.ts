import { defineCommand } from '../command.js';
import { ACTIVITY_COLUMNS, activityRow, tenantFields } from '../tenant-view.js';

/** `tenantry tenants show <idOrSlug>` */
export const tenantsShow = defineCommand({
  name: 'tenants show',
  summary: 'Show a tenant, whatever its status, with its domains and activity log',
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug (a deleted tenant only by id)" }],
  flags: {},
  details: 'JSON: { "tenant": …, "domains": [string…], "activity": [entry…] }',
  async run({ args, out, tenancy }) {
    const t = await tenancy();
    const ref = args['idOrSlug']!;
    const tenant = await t.tenants.get(ref);
    const [domains, activity] = await Promise.all([t.tenants.domains(tenant.id), t.tenants.activity(tenant.id)]);
    out.result({ tenant, domains, activity }, () => {
      out.fields([...tenantFields(tenant), ['domains', domains.join(', ')]]);
      out.print();
      out.print(out.paint('Activity', 'bold'));
      out.table(ACTIVITY_COLUMNS, activity.map(activityRow));
    });
    return 0;
  },
});
