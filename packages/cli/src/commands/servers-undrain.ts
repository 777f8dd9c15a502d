import { defineCommand } from '../command.js';

/** `tenantry servers undrain <id>` */
export const serversUndrain = defineCommand({
  name: 'servers undrain',
  summary: 'Let a drained server take new tenants again',
  args: [{ name: 'id', required: true, description: 'server id' }],
  flags: {},
  async run({ args, out, tenancy }) {
    const server = await (await tenancy()).servers.undrain(args['id']!);
    out.result({ server }, () => out.print(`Server '${server.id}' takes new tenants again.`));
    return 0;
  },
});
