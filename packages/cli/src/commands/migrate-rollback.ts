import { defineCommand, UsageError } from '../command.js';
import { requireMigrations } from '../config.js';
import { ACTOR_FLAG, MIGRATION_CONCURRENCY_FLAG, TENANT_FLAG, intFlag } from '../flags.js';
import { migrationJson, migrationProgress, renderMigrationSummary } from '../reports.js';

/** `tenantry migrate:rollback [--steps n] (--tenant … | --all)` */
export const migrateRollback = defineCommand({
  name: 'migrate:rollback',
  summary: "Undo each tenant's last migrations with their down parts",
  args: [],
  flags: {
    steps: { type: 'string', value: 'n', description: "how many of each tenant's latest migrations to undo (default 1)" },
    tenant: { ...TENANT_FLAG, description: 'only this tenant (repeatable)' },
    all: { type: 'boolean', description: 'every tenant: required when no --tenant is given' },
    concurrency: MIGRATION_CONCURRENCY_FLAG,
    actor: ACTOR_FLAG,
  },
  details: [
    'Give --tenant (repeatable) or --all: without either nothing is rolled back and the exit code is 2.',
    'A migration without a down part is reported as MIGRATION_IRREVERSIBLE and that tenant is left as it was. Exit code 1 when any tenant failed.',
  ].join('\n'),
  async run({ flags, out, config, actor, tenancy }) {
    if (flags.tenant === undefined && flags.all !== true)
      throw new UsageError('refusing to roll back every tenant without --all; name tenants with --tenant, or pass --all');
    if (flags.tenant !== undefined && flags.all === true) throw new UsageError('give --tenant or --all, not both');
    const steps = intFlag(flags.steps, 'steps', 1);
    const concurrency = intFlag(flags.concurrency, 'concurrency', 1);
    requireMigrations(config);
    const progress = migrationProgress(out);
    let summary;
    try {
      summary = await (
        await tenancy()
      ).rollback({
        ...(steps === undefined ? {} : { steps }),
        ...(flags.tenant === undefined ? {} : { tenants: flags.tenant }),
        ...(concurrency === undefined ? {} : { concurrency }),
        onProgress: progress.onProgress,
        actor,
      });
    } finally {
      progress.finish();
    }
    out.result(migrationJson(summary), () => renderMigrationSummary(out, summary, 'rolled back'));
    return summary.ok ? 0 : 1;
  },
});
