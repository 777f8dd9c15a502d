import { defineCommand } from '../command.js';

/** `tenantry servers remove <id> [--force]` */
export const serversRemove = defineCommand({
  name: 'servers remove',
  summary: 'Unregister a server no tenant lives on (the server itself is not touched)',
  args: [{ name: 'id', required: true, description: 'server id' }],
  flags: {
    force: {
      type: 'boolean',
      description: 'also delete the records of deleted tenants placed there (never allowed while live tenants are)',
    },
  },
  details: [
    'Refused (SERVER_IN_USE) while live tenants are placed on the server: delete them first, or drain it',
    'and wait. Without --force it is also refused while the registry keeps deleted tenants placed there.',
  ].join('\n'),
  async run({ args, flags, out, tenancy }) {
    const id = args['id']!;
    await (await tenancy()).servers.remove(id, { force: flags.force === true });
    out.result({ removed: id }, () => out.print(`Removed server '${id}'.`));
    return 0;
  },
});
