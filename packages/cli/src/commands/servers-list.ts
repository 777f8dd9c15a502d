import { defineCommand } from '../command.js';
import { SERVER_COLUMNS, serverRow } from '../server-view.js';

/** `tenantry servers list` */
export const serversList = defineCommand({
  name: 'servers list',
  summary: 'List servers with their tenants, capacity and state (no passwords)',
  args: [],
  flags: {},
  details: 'JSON: { "servers": [{ "id", "host", "replicaHost", "capacity", "draining", "tenants", "createdAt" }] }',
  async run({ out, tenancy }) {
    const servers = await (await tenancy()).servers.list();
    out.result({ servers }, () => out.table(SERVER_COLUMNS, servers.map(serverRow)));
    return 0;
  },
});
