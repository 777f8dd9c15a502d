import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IsolationKind } from '@tenantry/core';
import { defineCommand, UsageError } from '../command.js';
import { ACTOR_FLAG, choiceFlag } from '../flags.js';
import { tableProgress } from '../mobility-progress.js';
import { formatDuration } from '../output.js';

const ISOLATIONS: readonly IsolationKind[] = ['schema', 'database'];
const FORMATS = ['tenantry', 'pg_dump'] as const;

/** `tenantry tenants restore <file> [--format tenantry|pg_dump] (--slug <new> [--name …] [--server …] [--isolation …] | --in-place <idOrSlug>)` */
export const tenantsRestore = defineCommand({
  name: 'tenants restore',
  summary: 'Restore a Tenantry archive or a pg_dump archive into a new tenant (--slug) or over an existing one (--in-place)',
  args: [
    {
      name: 'file',
      required: true,
      description: "the archive written by 'tenantry tenants backup' (--format pg_dump: by pg_dump --format=custom)",
    },
  ],
  flags: {
    format: {
      type: 'string',
      value: 'format',
      description: "tenantry (default: Tenantry's archive) or pg_dump (a custom-format dump of one tenant; needs the server's pg_restore)",
    },
    slug: { type: 'string', value: 'slug', description: 'restore into a NEW tenant with this slug' },
    name: { type: 'string', value: 'name', description: "the new tenant's name (default: the archived tenant's; for a pg_dump, the slug)" },
    server: { type: 'string', value: 'id', description: 'the new tenant’s server (default: the least-loaded with room)' },
    isolation: { type: 'string', value: 'kind', description: 'schema or database (default: the archived tenant’s)' },
    'in-place': { type: 'string', value: 'idOrSlug', description: 'restore over this tenant (suspended meanwhile; keeps its id and slug)' },
    actor: ACTOR_FLAG,
  },
  details: [
    'The schema is made by the archive’s migrations, which must be among this project’s (same checksums);',
    'the data is verified against the manifest before the tenant is ACTIVE (or switched over, in place).',
    'Interrupted, nothing of the new copy is kept (the next start or `tenantry doctor` reconciles).',
    'With --format pg_dump the dump is first loaded by the pg_restore of the target server’s major version into a',
    'scratch database (always dropped) and refused unless its schema is what its own migration ledger makes.',
    'JSON: { "tenant", "format", "durationMs" }',
  ].join('\n'),
  async run({ args, flags, out, actor, tenancy }) {
    const isolation = choiceFlag(flags.isolation, 'isolation', ISOLATIONS);
    const format = choiceFlag(flags.format, 'format', FORMATS) ?? 'tenantry';
    const inPlace = flags['in-place'];
    if ((inPlace === undefined) === (flags.slug === undefined))
      throw new UsageError('give either --slug <new tenant> or --in-place <tenant>');
    if (inPlace !== undefined && (flags.name !== undefined || flags.server !== undefined || isolation !== undefined))
      throw new UsageError('--name, --server and --isolation are for a new tenant; to move a tenant use tenantry tenants move');
    const file = args['file']!;
    const target = {
      slug: flags.slug!,
      ...(flags.name === undefined ? {} : { name: flags.name }),
      ...(flags.server === undefined ? {} : { server: flags.server }),
      ...(isolation === undefined ? {} : { isolation }),
    };
    // pg_restore reads the dump by its path; Tenantry's archive is streamed.
    let input: ReturnType<typeof createReadStream> | undefined;
    if (format === 'pg_dump') {
      if ((await stat(file).catch(() => undefined)) === undefined) throw new UsageError(`no file ${file}`);
    } else {
      const stream = createReadStream(file);
      input = stream;
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new UsageError(`no file ${file}`) : err));
      });
    }
    const t = await tenancy();
    const progress = tableProgress(out);
    const started = Date.now();
    const options = { actor, onProgress: progress.onProgress };
    try {
      const tenant =
        input === undefined
          ? inPlace !== undefined
            ? await t.mobility.restorePgDumpInPlace(inPlace, file, options)
            : await t.mobility.restorePgDump(file, target, options)
          : inPlace !== undefined
            ? await t.mobility.restoreInPlace(inPlace, input, options)
            : await t.mobility.restore(input, target, options);
      progress.finish();
      const durationMs = Date.now() - started;
      out.result({ tenant, format, durationMs }, () =>
        out.print(
          `Restored ${file} ${inPlace !== undefined ? 'over' : 'into'} tenant '${tenant.slug}' (${tenant.isolation} on ${tenant.server}, ${tenant.schemaVersion ?? 'no migration'}) in ${formatDuration(durationMs)}; ${tenant.status}.`,
        ),
      );
      return 0;
    } finally {
      progress.finish();
      input?.destroy();
    }
  },
});
