import { defineCommand } from '../command.js';

/** `tenantry servers drain <id>` */
export const serversDrain = defineCommand({
  name: 'servers drain',
  summary: 'Stop placing new tenants on a server; its tenants keep working',
  args: [{ name: 'id', required: true, description: 'server id' }],
  flags: {},
  async run({ args, out, tenancy }) {
    const server = await (await tenancy()).servers.drain(args['id']!);
    out.result({ server }, () =>
      out.print(
        `Server '${server.id}' is draining: it keeps its ${server.tenants} tenant(s) and takes no new ones. Undo with: tenantry servers undrain ${server.id}`,
      ),
    );
    return 0;
  },
});
