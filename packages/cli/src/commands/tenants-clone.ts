import type { IsolationKind } from '@tenantry/core';
import { defineCommand } from '../command.js';
import { ACTOR_FLAG, choiceFlag } from '../flags.js';
import { tableProgress } from '../mobility-progress.js';
import { formatDuration } from '../output.js';

const ISOLATIONS: readonly IsolationKind[] = ['schema', 'database'];

/** `tenantry tenants clone <source> <newSlug> [--name …] [--server …] [--isolation …]` */
export const tenantsClone = defineCommand({
  name: 'tenants clone',
  summary: 'Copy a tenant into a new one (demo and template tenants); the source keeps serving',
  args: [
    { name: 'source', required: true, description: 'the tenant to copy (id or slug)' },
    { name: 'newSlug', required: true, description: "the new tenant's slug" },
  ],
  flags: {
    name: { type: 'string', value: 'name', description: "the new tenant's name (default: the source's)" },
    server: { type: 'string', value: 'id', description: 'its server (default: the least-loaded with room)' },
    isolation: { type: 'string', value: 'kind', description: 'schema or database (default: the source’s)' },
    actor: ACTOR_FLAG,
  },
  details: 'JSON: { "tenant", "durationMs" }',
  async run({ args, flags, out, actor, tenancy }) {
    const isolation = choiceFlag(flags.isolation, 'isolation', ISOLATIONS);
    const progress = tableProgress(out);
    const started = Date.now();
    try {
      const tenant = await (
        await tenancy()
      ).mobility.clone(
        args['source']!,
        {
          slug: args['newSlug']!,
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(flags.server === undefined ? {} : { server: flags.server }),
          ...(isolation === undefined ? {} : { isolation }),
        },
        { actor, onProgress: progress.onProgress },
      );
      progress.finish();
      const durationMs = Date.now() - started;
      out.result({ tenant, durationMs }, () =>
        out.print(
          `Cloned '${args['source']}' into '${tenant.slug}' (id ${tenant.id}, ${tenant.isolation} on ${tenant.server}) in ${formatDuration(durationMs)}.`,
        ),
      );
      return 0;
    } finally {
      progress.finish();
    }
  },
});
