import { TenantStatuses, type Tenant, type TenantStatus } from '@tenantry/core';
import { defineCommand } from '../command.js';
import { choiceFlag, intFlag } from '../flags.js';
import { TENANT_COLUMNS, tenantRow } from '../tenant-view.js';

/** `tenantry tenants list [--status S] [--limit n] [--cursor c] [--all]` */
export const tenantsList = defineCommand({
  name: 'tenants list',
  summary: 'List tenants in creation order, a page at a time',
  args: [],
  flags: {
    status: { type: 'string', value: 'status', description: `only this status: ${TenantStatuses.join(', ')}` },
    limit: { type: 'string', value: 'n', description: 'page size, 1–1000 (default 50)' },
    cursor: { type: 'string', value: 'cursor', description: 'start after this cursor (printed after a page)' },
    all: { type: 'boolean', description: 'follow the cursors: every page' },
  },
  details: 'JSON: { "items": [tenant…], "nextCursor": string | null }',
  async run({ flags, out, tenancy }) {
    const status = choiceFlag<TenantStatus>(flags.status?.toUpperCase(), 'status', TenantStatuses);
    const limit = intFlag(flags.limit, 'limit', 1);
    const options = { ...(status === undefined ? {} : { status }), ...(limit === undefined ? {} : { limit }) };
    const t = await tenancy();
    const items: Tenant[] = [];
    let page = await t.tenants.list({ ...options, ...(flags.cursor === undefined ? {} : { cursor: flags.cursor }) });
    items.push(...page.items);
    while (flags.all === true && page.nextCursor !== null) {
      page = await t.tenants.list({ ...options, cursor: page.nextCursor });
      items.push(...page.items);
    }
    out.result({ items, nextCursor: page.nextCursor }, () => {
      if (items.length === 0) {
        out.print('No tenants.');
        return;
      }
      out.table(TENANT_COLUMNS, items.map(tenantRow));
      out.print();
      out.print(
        `${items.length} tenant${items.length === 1 ? '' : 's'}${page.nextCursor === null ? '' : ` (more: --cursor ${page.nextCursor}, or --all)`}`,
      );
    });
    return 0;
  },
});
