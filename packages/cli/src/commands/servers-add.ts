import { defineCommand, UsageError } from '../command.js';
import { intFlag } from '../flags.js';
import { serverFields } from '../server-view.js';

/** `tenantry servers add <id> (--url <url> | --url-env <VAR>) [--capacity n] [--replica-url <url>]` */
export const serversAdd = defineCommand({
  name: 'servers add',
  summary: 'Register a PostgreSQL server new tenants can be placed on (checked, URL stored encrypted)',
  args: [{ name: 'id', required: true, description: 'server id: lowercase letters, digits and hyphens, e.g. eu-2' }],
  flags: {
    url: {
      type: 'string',
      value: 'url',
      description: 'postgres://user:password@host:5432/database (visible in shell history: prefer --url-env)',
    },
    'url-env': { type: 'string', value: 'VAR', description: 'read the URL from this environment variable instead' },
    'replica-url': { type: 'string', value: 'url', description: 'a read replica, for read-only units of work' },
    capacity: { type: 'string', value: 'n', description: 'most live tenants placed on it (default: unlimited)' },
  },
  details: [
    'Needs TENANTRY_ENCRYPTION_KEY (64 hex digits, e.g. `openssl rand -hex 32`): URLs are stored encrypted.',
    'Example: DB2_URL=postgres://app:secret@db2:5432/app tenantry servers add eu-2 --url-env DB2_URL --capacity 500',
  ].join('\n'),
  async run({ args, flags, out, env, tenancy }) {
    if ((flags.url === undefined) === (flags['url-env'] === undefined))
      throw new UsageError("'tenantry servers add' needs exactly one of --url <url> or --url-env <VAR>");
    let url = flags.url;
    if (flags['url-env'] !== undefined) {
      url = env[flags['url-env']];
      if (!url) throw new UsageError(`--url-env ${flags['url-env']}: that environment variable is not set`);
    }
    const capacity = intFlag(flags.capacity, 'capacity', 0);
    const server = await (
      await tenancy()
    ).servers.add({
      id: args['id']!,
      url: url!,
      ...(capacity === undefined ? {} : { capacity }),
      ...(flags['replica-url'] === undefined ? {} : { replicaUrl: flags['replica-url'] }),
    });
    out.result({ server }, () => {
      out.print(`Added server '${server.id}'.`);
      out.print();
      out.fields(serverFields(server));
    });
    return 0;
  },
});
