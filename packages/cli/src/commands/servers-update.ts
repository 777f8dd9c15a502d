import { defineCommand, UsageError } from '../command.js';
import { intFlag } from '../flags.js';
import { serverFields } from '../server-view.js';

/** `tenantry servers update <id> [--capacity n|unlimited] [--replica-url <url> | --no-replica] [--url <url> | --url-env <VAR>]` */
export const serversUpdate = defineCommand({
  name: 'servers update',
  summary: "Change a server's capacity, replica or URL (URLs checked, stored encrypted)",
  args: [{ name: 'id', required: true, description: 'server id' }],
  flags: {
    capacity: { type: 'string', value: 'n', description: "most live tenants placed on it, or 'unlimited'" },
    'replica-url': { type: 'string', value: 'url', description: 'a read replica, for read-only units of work' },
    'no-replica': { type: 'boolean', description: 'stop using its read replica' },
    url: {
      type: 'string',
      value: 'url',
      description: 'a new URL of the same server, e.g. a new password (visible in shell history: prefer --url-env)',
    },
    'url-env': { type: 'string', value: 'VAR', description: 'read the new URL from this environment variable instead' },
  },
  details: [
    'Needs TENANTRY_ENCRYPTION_KEY for a URL. Running processes read a new URL when they next open the server:',
    'restart them after a password change.',
    'Example: tenantry servers update eu-2 --capacity 800 --replica-url postgres://app:secret@db2-ro:5432/app',
  ].join('\n'),
  async run({ args, flags, out, env, tenancy }) {
    if (flags.url !== undefined && flags['url-env'] !== undefined)
      throw new UsageError("'tenantry servers update' takes one of --url <url> or --url-env <VAR>, not both");
    if (flags['replica-url'] !== undefined && flags['no-replica'] === true)
      throw new UsageError("'tenantry servers update' takes one of --replica-url <url> or --no-replica, not both");
    let url = flags.url;
    if (flags['url-env'] !== undefined) {
      url = env[flags['url-env']];
      if (!url) throw new UsageError(`--url-env ${flags['url-env']}: that environment variable is not set`);
    }
    const capacity = flags.capacity === 'unlimited' ? null : intFlag(flags.capacity, 'capacity', 0);
    const replicaUrl = flags['no-replica'] === true ? null : flags['replica-url'];
    if (url === undefined && capacity === undefined && replicaUrl === undefined)
      throw new UsageError("'tenantry servers update' needs at least one of --capacity, --replica-url, --no-replica, --url, --url-env");
    const server = await (
      await tenancy()
    ).servers.update(args['id']!, {
      ...(capacity === undefined ? {} : { capacity }),
      ...(replicaUrl === undefined ? {} : { replicaUrl }),
      ...(url === undefined ? {} : { url }),
    });
    out.result({ server }, () => {
      out.print(`Updated server '${server.id}'.`);
      out.print();
      out.fields(serverFields(server));
    });
    return 0;
  },
});
