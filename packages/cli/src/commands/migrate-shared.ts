import type { SharedMigrationResult, SharedMigrationStatusReport, SharedMigrationSummary, Tenancy } from '@tenantry/core';
import { ConfigError } from '../command.js';
import type { ResolvedConfig } from '../config.js';
import { errorText, formatDuration, plural, type Output } from '../output.js';
import { statusColor } from '../reports.js';

/** Fails with a message saying how to configure shared migrations. */
function requireShared(config: ResolvedConfig): void {
  if (config.sharedMigrations === undefined)
    throw new ConfigError(
      'no shared migrations configured: set TENANTRY_SHARED_MIGRATIONS or put "sharedMigrations" in tenantry.config.json',
    );
}

/** `default` for a server's own database, `default/acme` for a tenant database. */
function targetText(r: { readonly target: SharedMigrationResult['target'] }): string {
  return r.target.tenant === null ? `${r.target.server} (server database)` : `${r.target.server}/${r.target.tenant.slug}`;
}

function line(r: SharedMigrationResult): string {
  switch (r.status) {
    case 'migrated':
      return `${targetText(r)} migrated (${plural(r.applied.length, 'migration')}, ${formatDuration(r.durationMs)})`;
    case 'failed':
      return `${targetText(r)} failed (${errorText(r.error)})`;
    case 'up-to-date':
      return `${targetText(r)} up to date`;
  }
}

/** `tenantry migrate --shared`: applies the shared set everywhere, with progress; exit code 1 when a target failed. */
export async function runMigrateShared(
  out: Output,
  config: ResolvedConfig,
  tenancy: () => Promise<Tenancy>,
  concurrency: number | undefined,
): Promise<number> {
  requireShared(config);
  let progress: ReturnType<Output['progress']> | undefined;
  let failed = 0;
  let summary: SharedMigrationSummary;
  try {
    summary = await (
      await tenancy()
    ).migrateShared({
      ...(concurrency === undefined ? {} : { concurrency }),
      onProgress: (p) => {
        progress ??= out.progress(p.total);
        if (p.result.status === 'failed') failed++;
        progress.update(p.done, line(p.result), failed > 0 ? `${failed} failed` : undefined);
      },
    });
  } finally {
    progress?.finish();
  }
  const json = {
    ok: summary.ok,
    schema: summary.schema,
    latest: summary.latest,
    counts: summary.counts,
    durationMs: summary.durationMs,
    results: summary.results.map((r) => ({
      server: r.target.server,
      tenant: r.target.tenant,
      status: r.status,
      applied: r.applied,
      durationMs: r.durationMs,
      error: r.error,
    })),
  };
  out.result(json, () => {
    out.table(
      [
        { header: 'target', max: 50 },
        { header: 'status', color: statusColor },
        { header: 'applied', max: 50 },
        { header: 'duration', align: 'right' },
        { header: 'error', max: 70 },
      ],
      summary.results.map((r) => [
        targetText(r),
        r.status,
        r.applied.join(', '),
        r.durationMs > 0 ? formatDuration(r.durationMs) : '',
        r.error ? errorText(r.error) : '',
      ]),
    );
    out.print();
    const parts = (['migrated', 'up-to-date', 'failed'] as const)
      .filter((s) => summary.counts[s] > 0)
      .map((s) => `${summary.counts[s]} ${s}`);
    out.print(
      `${plural(summary.results.length, 'database')}${parts.length > 0 ? `: ${parts.join(', ')}` : ''} · schema ${summary.schema} · latest ${summary.latest ?? '(none)'} · ${formatDuration(summary.durationMs)}`,
    );
    if (!summary.ok) {
      out.print();
      out.print(
        "A failed database is left as it was (its transaction rolled back). Fix the cause and run 'tenantry migrate --shared' again.",
      );
    }
  });
  return summary.ok ? 0 : 1;
}

/** `tenantry migrate:status --shared`: each database's shared version, from its ledger. */
export async function runSharedStatus(out: Output, config: ResolvedConfig, tenancy: () => Promise<Tenancy>): Promise<number> {
  requireShared(config);
  const status: SharedMigrationStatusReport = await (await tenancy()).sharedMigrationStatus();
  out.result(status, () => {
    out.fields([
      ['schema', status.schema],
      ['latest', status.latest ?? '(no migrations)'],
      ['migrations', String(status.migrations.length)],
      ['pending', plural(status.pending, 'database')],
    ]);
    out.print();
    out.table(
      [
        { header: 'target', max: 50 },
        { header: 'version', max: 50 },
        { header: 'pending', align: 'right' },
        { header: 'changed', max: 40 },
        { header: 'error', max: 70 },
      ],
      status.targets.map((t) => [targetText(t), t.version ?? '(none)', String(t.pending.length), t.changed.join(', '), t.error ?? '']),
    );
    if (status.pending > 0) {
      out.print();
      out.print("Run 'tenantry migrate --shared' to apply them.");
    }
  });
  return status.targets.some((t) => t.error !== null) ? 1 : 0;
}
