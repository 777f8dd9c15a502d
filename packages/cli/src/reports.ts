import type { MigrationProgress, MigrationSummary, TenantMigrationResult, TenantMigrationStatus, TenantRunResult } from '@tenantry/core';
import { errorText, formatDuration, plural, type Column, type Output, type Progress } from './output.js';

const STATUS_COLORS: Record<string, 'green' | 'red' | 'yellow' | 'dim'> = {
  migrated: 'green',
  'rolled-back': 'green',
  ok: 'green',
  ACTIVE: 'green',
  failed: 'red',
  FAILED: 'red',
  pending: 'yellow',
  skipped: 'yellow',
  SUSPENDED: 'yellow',
  'up-to-date': 'dim',
  DELETED: 'dim',
};

/** Colour of a status cell. */
export const statusColor = (cell: string): 'green' | 'red' | 'yellow' | 'dim' | undefined => STATUS_COLORS[cell];

/** One line per tenant, as printed while a run goes: `acme migrated (2 migrations, 35 ms)`. */
export function migrationLine(r: TenantMigrationResult): string {
  const slug = r.tenant.slug;
  switch (r.status) {
    case 'migrated':
      return `${slug} migrated (${plural(r.applied.length, 'migration')}, ${formatDuration(r.durationMs)})`;
    case 'rolled-back':
      return `${slug} rolled back (${plural(r.applied.length, 'migration')} undone, ${formatDuration(r.durationMs)})`;
    case 'pending':
      return `${slug} pending (would apply ${r.applied.join(', ')})`;
    case 'failed':
      return `${slug} failed (${errorText(r.error)})`;
    case 'up-to-date':
      return `${slug} up to date`;
    case 'skipped':
      return `${slug} skipped`;
  }
}

/** An `onProgress` callback that drives a progress display, and the call that ends it. */
export function migrationProgress(out: Output): { onProgress: (p: MigrationProgress) => void; finish: () => void } {
  let progress: Progress | undefined;
  let failed = 0;
  return {
    onProgress: (p) => {
      progress ??= out.progress(p.total);
      if (p.result.status === 'failed') failed++;
      progress.update(p.done, migrationLine(p.result), failed > 0 ? `${failed} failed` : undefined);
    },
    finish: () => progress?.finish(),
  };
}

const ORDER: readonly TenantMigrationStatus[] = ['migrated', 'rolled-back', 'pending', 'up-to-date', 'skipped', 'failed'];

/** `3 tenants: 2 migrated, 1 failed`. */
export function countsText(summary: MigrationSummary): string {
  const parts = ORDER.filter((s) => summary.counts[s] > 0).map((s) => `${summary.counts[s]} ${s}`);
  return `${plural(summary.results.length, 'tenant')}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/**
 * The summary of a migration run: a table (tenant, status, applied, duration, error), the
 * counts, and each failure in full.
 */
export function renderMigrationSummary(out: Output, summary: MigrationSummary, appliedHeader = 'applied'): void {
  if (summary.results.length === 0) {
    out.print('No tenant to migrate.');
    return;
  }
  const columns: Column[] = [
    { header: 'tenant', max: 40 },
    { header: 'status', color: statusColor },
    { header: appliedHeader, max: 50 },
    { header: 'duration', align: 'right' },
    { header: 'error', max: 70 },
  ];
  out.table(
    columns,
    summary.results.map((r) => [
      r.tenant.slug,
      r.status,
      r.applied.join(', '),
      r.durationMs > 0 ? formatDuration(r.durationMs) : '',
      r.error ? errorText(r.error) : '',
    ]),
  );
  out.print();
  out.print(`${countsText(summary)} · latest ${summary.latest ?? '(none)'} · ${formatDuration(summary.durationMs)}`);
  const failed = summary.results.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    out.print();
    out.print(out.paint('Failures:', 'red'));
    for (const r of failed) out.print(`  ${r.tenant.slug}: ${errorText(r.error)}`);
  }
}

/** The JSON document of a migration run. */
export function migrationJson(summary: MigrationSummary): unknown {
  return {
    ok: summary.ok,
    latest: summary.latest,
    counts: summary.counts,
    durationMs: summary.durationMs,
    results: summary.results.map((r) => ({
      tenant: r.tenant,
      status: r.status,
      applied: r.applied,
      durationMs: r.durationMs,
      error: r.error,
    })),
  };
}

/** The summary of work run in each tenant (`run`, `seed`): a table and the counts. */
export function renderRunResults<T>(
  out: Output,
  results: readonly TenantRunResult<T>[],
  valueColumn: string,
  describe: (value: T) => string,
): void {
  if (results.length === 0) {
    out.print('No tenant matched.');
    return;
  }
  out.table(
    [
      { header: 'tenant', max: 40 },
      { header: 'status', color: statusColor },
      { header: valueColumn, max: 70 },
      { header: 'duration', align: 'right' },
      { header: 'error', max: 70 },
    ],
    results.map((r) => [
      r.tenant.slug,
      r.status,
      r.status === 'ok' ? describe(r.value as T) : '',
      formatDuration(r.durationMs),
      r.error ? errorText(r.error) : '',
    ]),
  );
  const failed = results.filter((r) => r.status === 'failed');
  out.print();
  out.print(`${plural(results.length, 'tenant')}: ${results.length - failed.length} ok, ${failed.length} failed`);
  if (failed.length > 0) {
    out.print();
    out.print(out.paint('Failures:', 'red'));
    for (const r of failed) out.print(`  ${r.tenant.slug}: ${errorText(r.error)}`);
  }
}

/** The JSON document of work run in each tenant. */
export function runJson<T>(results: readonly TenantRunResult<T>[]): unknown {
  return {
    ok: results.every((r) => r.status === 'ok'),
    counts: { ok: results.filter((r) => r.status === 'ok').length, failed: results.filter((r) => r.status === 'failed').length },
    results: results.map((r) => ({
      tenant: r.tenant,
      status: r.status,
      value: r.value ?? null,
      durationMs: r.durationMs,
      error: r.error ?? null,
    })),
  };
}
