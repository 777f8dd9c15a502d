import type { OnMigrationError } from '@tenantry/core';
import { defineCommand } from '../command.js';
import { requireMigrations } from '../config.js';
import { ACTOR_FLAG, MIGRATION_CONCURRENCY_FLAG, TENANT_FLAG, choiceFlag, intFlag } from '../flags.js';
import { migrationJson, migrationProgress, renderMigrationSummary } from '../reports.js';
import { UsageError } from '../command.js';
import { runMigrateShared } from './migrate-shared.js';

const ON_ERROR: readonly OnMigrationError[] = ['stop', 'continue', 'rollback-all'];

/** `tenantry migrate [--tenant …] [--concurrency n] [--on-error …] [--canary n] [--dry-run]`, or `tenantry migrate --shared [--concurrency n]` */
export const migrate = defineCommand({
  name: 'migrate',
  summary: 'Apply pending migrations to every tenant (or --tenant …), one transaction per tenant',
  args: [],
  flags: {
    tenant: TENANT_FLAG,
    concurrency: MIGRATION_CONCURRENCY_FLAG,
    'on-error': {
      type: 'string',
      value: 'policy',
      description:
        'stop (default): start no further tenant; at most one goes out of service · continue: migrate every other tenant · rollback-all: stop, undo this run, no tenant left failed',
    },
    canary: { type: 'string', value: 'n', description: 'migrate n tenants first; if one fails, touch no other (default 1; 0 for none)' },
    'dry-run': { type: 'boolean', description: 'report what would be applied, from the registry alone; change nothing' },
    actor: ACTOR_FLAG,
    shared: {
      type: 'boolean',
      description: "apply the shared migrations (sharedMigrations) to every server's database and every tenant database instead",
    },
  },
  details: [
    'A tenant whose migration fails is left MIGRATION_FAILED (out of service, its data intact at its',
    "previous version) and is retried by the next 'tenantry migrate' (or 'tenantry tenants resume'); once",
    'nothing is pending for it any more it is ACTIVE again. Exit code 1 when any tenant failed.',
    'JSON: { "ok", "latest", "counts", "durationMs", "results": [{ "tenant", "status", "applied", "durationMs", "error" }] }',
    '',
    '--shared applies the shared set (TENANTRY_SHARED_MIGRATIONS or "sharedMigrations") into the shared schema of every',
    "server's own database and every tenant database, each in one transaction; a failed one is left as it was.",
    'JSON: { "ok", "schema", "latest", "counts", "durationMs", "results": [{ "server", "tenant", "status", "applied", "durationMs", "error" }] }',
  ].join('\n'),
  async run({ flags, out, config, actor, tenancy }) {
    const onError = choiceFlag(flags['on-error'], 'on-error', ON_ERROR);
    const concurrency = intFlag(flags.concurrency, 'concurrency', 1);
    if (flags.shared === true) {
      const other = (['tenant', 'on-error', 'canary', 'dry-run'] as const).find((f) => flags[f] !== undefined);
      if (other !== undefined) throw new UsageError(`--${other} does not apply to --shared`);
      return await runMigrateShared(out, config, tenancy, concurrency);
    }
    const canary = intFlag(flags.canary, 'canary', 0);
    requireMigrations(config);
    const progress = migrationProgress(out);
    let summary;
    try {
      summary = await (
        await tenancy()
      ).migrate({
        ...(flags.tenant === undefined ? {} : { tenants: flags.tenant }),
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(onError === undefined ? {} : { onError }),
        ...(canary === undefined ? {} : { canary }),
        dryRun: flags['dry-run'] === true,
        onProgress: progress.onProgress,
        actor,
      });
    } finally {
      progress.finish();
    }
    out.result(migrationJson(summary), () => {
      if (flags['dry-run'] === true) out.print('Dry run: nothing was changed.');
      renderMigrationSummary(out, summary, flags['dry-run'] === true ? 'would apply' : 'applied');
      if (!summary.ok) {
        out.print();
        out.print(
          "Failed tenants are MIGRATION_FAILED: out of service, their data intact at their previous version. Fix or remove the migration and run 'tenantry migrate' again.",
        );
      }
    });
    return summary.ok ? 0 : 1;
  },
});
