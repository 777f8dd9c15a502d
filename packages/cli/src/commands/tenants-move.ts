import type { IsolationKind } from '@tenantry/core';
import { defineCommand, UsageError } from '../command.js';
import { ACTOR_FLAG, choiceFlag, intFlag } from '../flags.js';
import { tableProgress } from '../mobility-progress.js';
import { formatDuration } from '../output.js';

const ISOLATIONS: readonly IsolationKind[] = ['schema', 'database'];

/** `tenantry tenants move <idOrSlug> [--server <id>] [--isolation schema|database] [--retain-hours n] [--online | --offline] [--cutover-timeout-ms n]` */
export const tenantsMove = defineCommand({
  name: 'tenants move',
  summary: 'Move a tenant to another server and/or tier (online by logical replication where the source allows it, else offline)',
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug" }],
  flags: {
    server: { type: 'string', value: 'id', description: 'the server to move to (default: where it is)' },
    isolation: { type: 'string', value: 'kind', description: 'schema or database (default: its tier)' },
    'retain-hours': {
      type: 'string',
      value: 'n',
      description: 'keep the old copy (suspended) this long; 0 drops it at once (default 168)',
    },
    online: { type: 'boolean', description: 'online or fail (saying why not): logical replication, new work waits during the cutover' },
    offline: { type: 'boolean', description: 'offline even where an online move is possible: suspended while its data is copied' },
    'cutover-timeout-ms': {
      type: 'string',
      value: 'n',
      description: 'online: the longest new work may wait at the cutover (default 5000)',
    },
    actor: ACTOR_FLAG,
  },
  details: [
    'Online (the default where possible; --online: online or fail): the new copy is filled and kept up to date by',
    'logical replication while the tenant serves; at the cutover new units of work wait (bounded), then run on the new copy.',
    'Offline (where online is not possible, or --offline): the tenant is SUSPENDED while its data is copied and verified, then one registry',
    "transaction points it at the new copy. Interrupted, the tenant stays where it was. Drop expired old copies with 'tenantry tenants purge-moved'.",
    'JSON: { "tenant", "from", "oldCopy", "retainUntil", "online", "offlineReason", "pauseMs", "durationMs" }',
  ].join('\n'),
  async run({ args, flags, out, actor, tenancy }) {
    const isolation = choiceFlag(flags.isolation, 'isolation', ISOLATIONS);
    const retainHours = intFlag(flags['retain-hours'], 'retain-hours', 0);
    if (flags.online === true && flags.offline === true) throw new UsageError('give --online or --offline, not both');
    const cutoverTimeoutMs = intFlag(flags['cutover-timeout-ms'], 'cutover-timeout-ms', 100);
    const progress = tableProgress(out);
    try {
      const r = await (
        await tenancy()
      ).mobility.move(
        args['idOrSlug']!,
        {
          ...(flags.server === undefined ? {} : { server: flags.server }),
          ...(isolation === undefined ? {} : { isolation }),
          ...(retainHours === undefined ? {} : { retainHours }),
          online: flags.online === true ? true : flags.offline === true ? false : 'auto',
          ...(cutoverTimeoutMs === undefined ? {} : { cutoverTimeoutMs }),
        },
        { actor, onProgress: progress.onProgress },
      );
      progress.finish();
      const summary = {
        tenant: r.tenant,
        from: r.from,
        oldCopy: r.oldCopy,
        retainUntil: r.retainUntil,
        online: r.online,
        offlineReason: r.offlineReason ?? null,
        pauseMs: r.pauseMs,
        durationMs: r.durationMs,
      };
      out.result(summary, () =>
        out.print(
          `Moved '${r.tenant.slug}' from ${r.from.isolation} on ${r.from.server} to ${r.tenant.isolation} on ${r.tenant.server}${r.online ? ' online: new work waited' : `: suspended${r.offlineReason === undefined ? '' : ` (offline: ${r.offlineReason})`}`} ${formatDuration(r.pauseMs)}, ${formatDuration(r.durationMs)} in all. ${r.retainUntil === null ? 'The old copy was dropped.' : `The old copy is kept until ${r.retainUntil.toISOString()} (tenantry tenants purge-moved).`}`,
        ),
      );
      return 0;
    } finally {
      progress.finish();
    }
  },
});
