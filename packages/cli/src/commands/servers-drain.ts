import type { DrainProgress, Tenancy } from '@tenantry/core';
import { defineCommand, UsageError } from '../command.js';
import { ACTOR_FLAG, intFlag } from '../flags.js';
import { errorText, formatDuration, plural, type Column, type Output, type Progress } from '../output.js';

const STATUS_COLOR: Record<string, 'green' | 'red' | 'yellow'> = { moved: 'green', failed: 'red', skipped: 'yellow' };

/** `tenantry servers drain <id> [--move [--to id] [--concurrency n] [--retain-hours n]]` */
export const serversDrain = defineCommand({
  name: 'servers drain',
  summary: 'Stop placing new tenants on a server; with --move, move its tenants elsewhere',
  args: [{ name: 'id', required: true, description: 'server id' }],
  flags: {
    move: { type: 'boolean', description: 'also move every tenant on it to other servers (each offline, suspended for its own copy)' },
    to: { type: 'string', value: 'id', description: 'with --move: the server they go to (default: the least-loaded with room)' },
    concurrency: { type: 'string', value: 'n', description: 'with --move: tenants moved at once, 1–16 (default 2)' },
    'retain-hours': {
      type: 'string',
      value: 'n',
      description: 'with --move: keep each old copy (suspended, on the drained server) this long; 0 drops it at once (default 168)',
    },
    actor: ACTOR_FLAG,
  },
  details: [
    'Without --move the server keeps its tenants and takes no new ones. With --move each tenant is moved',
    'with the offline move; one that fails stays whole where it was and the others continue; run the',
    'command again to retry them. Exit code 1 when any tenant failed.',
    'JSON without --move: { "server" }',
    'JSON with --move: { "server", "ok", "counts", "remaining", "retainedCopies", "durationMs", "results": [{ "tenant", "status", "to", "pauseMs", "durationMs", "error" }] }',
  ].join('\n'),
  async run({ args, flags, out, actor, tenancy }) {
    const id = args['id']!;
    if (flags.move !== true) {
      for (const f of ['to', 'concurrency', 'retain-hours'] as const)
        if (flags[f] !== undefined) throw new UsageError(`--${f} needs --move`);
      const server = await (await tenancy()).servers.drain(id);
      out.result({ server }, () =>
        out.print(
          `Server '${server.id}' is draining: it keeps its ${server.tenants} tenant(s) and takes no new ones. Undo with: tenantry servers undrain ${server.id}`,
        ),
      );
      return 0;
    }
    const concurrency = intFlag(flags.concurrency, 'concurrency', 1);
    const retainHours = intFlag(flags['retain-hours'], 'retain-hours', 0);
    return await drainWithMoves(await tenancy(), out, id, {
      ...(flags.to === undefined ? {} : { to: flags.to }),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(retainHours === undefined ? {} : { retainHours }),
      actor,
    });
  },
});

async function drainWithMoves(
  tenancy: Tenancy,
  out: Output,
  id: string,
  options: { to?: string; concurrency?: number; retainHours?: number; actor?: string },
): Promise<number> {
  let progress: Progress | undefined;
  let failed = 0;
  const onProgress = (p: DrainProgress): void => {
    progress ??= out.progress(p.total);
    if (p.result.status === 'failed') failed++;
    const r = p.result;
    const what = r.status === 'moved' ? `moved to ${r.to}` : r.status === 'skipped' ? `skipped (${r.tenantStatus})` : 'failed';
    progress.update(p.done, `${r.tenant.slug}: ${what}`, failed > 0 ? `${failed} failed` : undefined);
  };
  let result;
  try {
    result = await tenancy.mobility.drain(id, { ...options, onProgress });
  } finally {
    progress?.finish();
  }
  out.result(result, () => {
    if (result.results.length === 0) out.print(`Server '${id}' is draining and has no tenant to move.`);
    else {
      const columns: Column[] = [
        { header: 'tenant', max: 40 },
        { header: 'status', color: (s) => STATUS_COLOR[s] },
        { header: 'to' },
        { header: 'paused', align: 'right' },
        { header: 'duration', align: 'right' },
        { header: 'error', max: 70 },
      ];
      out.table(
        columns,
        result.results.map((r) => [
          r.tenant.slug,
          r.status,
          r.to ?? '',
          r.pauseMs === undefined ? '' : formatDuration(r.pauseMs),
          r.durationMs > 0 ? formatDuration(r.durationMs) : '',
          r.error ? errorText(r.error) : r.tenantStatus ? `${r.tenantStatus}: not movable now` : '',
        ]),
      );
      out.print();
    }
    const c = result.counts;
    out.print(
      `Server '${id}': ${c.moved} moved, ${c.failed} failed, ${c.skipped} skipped · ${plural(result.remaining, 'tenant')} left on it · ${plural(result.retainedCopies, 'retained old copy')} (tenantry tenants purge-moved) · ${formatDuration(result.durationMs)}`,
    );
  });
  return result.ok ? 0 : 1;
}
