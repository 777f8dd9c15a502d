import { createReadStream } from 'node:fs';
import type { IsolationKind } from '@tenantry/core';
import { defineCommand, UsageError } from '../command.js';
import { ACTOR_FLAG, choiceFlag } from '../flags.js';
import { tableProgress } from '../mobility-progress.js';
import { formatDuration } from '../output.js';

const ISOLATIONS: readonly IsolationKind[] = ['schema', 'database'];

/** `tenantry tenants restore <file> (--slug <new> [--name …] [--server …] [--isolation …] | --in-place <idOrSlug>)` */
export const tenantsRestore = defineCommand({
  name: 'tenants restore',
  summary: 'Restore a Tenantry archive into a new tenant (--slug) or over an existing one (--in-place)',
  args: [{ name: 'file', required: true, description: "the archive written by 'tenantry tenants backup'" }],
  flags: {
    slug: { type: 'string', value: 'slug', description: 'restore into a NEW tenant with this slug' },
    name: { type: 'string', value: 'name', description: "the new tenant's name (default: the archived tenant's)" },
    server: { type: 'string', value: 'id', description: 'the new tenant’s server (default: the least-loaded with room)' },
    isolation: { type: 'string', value: 'kind', description: 'schema or database (default: the archived tenant’s)' },
    'in-place': { type: 'string', value: 'idOrSlug', description: 'restore over this tenant (suspended meanwhile; keeps its id and slug)' },
    actor: ACTOR_FLAG,
  },
  details: [
    'The schema is made by the archive’s migrations, which must be among this project’s (same checksums);',
    'the data is verified against the manifest before the tenant is ACTIVE (or switched over, in place).',
    'Interrupted, nothing of the new copy is kept (the next start or `tenantry doctor` reconciles).',
    'JSON: { "tenant", "durationMs" }',
  ].join('\n'),
  async run({ args, flags, out, actor, tenancy }) {
    const isolation = choiceFlag(flags.isolation, 'isolation', ISOLATIONS);
    const inPlace = flags['in-place'];
    if ((inPlace === undefined) === (flags.slug === undefined))
      throw new UsageError('give either --slug <new tenant> or --in-place <tenant>');
    if (inPlace !== undefined && (flags.name !== undefined || flags.server !== undefined || isolation !== undefined))
      throw new UsageError('--name, --server and --isolation are for a new tenant; to move a tenant use tenantry tenants move');
    const file = args['file']!;
    const input = createReadStream(file);
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new UsageError(`no file ${file}`) : err));
    });
    const t = await tenancy();
    const progress = tableProgress(out);
    const started = Date.now();
    try {
      const tenant =
        inPlace !== undefined
          ? await t.mobility.restoreInPlace(inPlace, input, { actor, onProgress: progress.onProgress })
          : await t.mobility.restore(
              input,
              {
                slug: flags.slug!,
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
          `Restored ${file} ${inPlace !== undefined ? 'over' : 'into'} tenant '${tenant.slug}' (${tenant.isolation} on ${tenant.server}, ${tenant.schemaVersion ?? 'no migration'}) in ${formatDuration(durationMs)}; ${tenant.status}.`,
        ),
      );
      return 0;
    } finally {
      progress.finish();
      input.destroy();
    }
  },
});
