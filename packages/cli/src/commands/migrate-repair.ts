import { defineCommand } from '../command.js';
import { requireMigrations } from '../config.js';
import { ACTOR_FLAG, TENANT_FLAG } from '../flags.js';
import { migrationJson, renderMigrationSummary } from '../reports.js';

/** `tenantry migrate:repair [--tenant …]` */
export const migrateRepair = defineCommand({
  name: 'migrate:repair',
  summary: 'Accept the current checksums of applied migrations whose files were edited on purpose',
  args: [],
  flags: { tenant: TENANT_FLAG, actor: ACTOR_FLAG },
  details:
    "Clears MIGRATION_CHECKSUM_MISMATCH. The 'applied' column lists the migrations whose checksum was updated. Exit code 1 when any tenant failed.",
  async run({ flags, out, config, actor, tenancy }) {
    requireMigrations(config);
    const summary = await (await tenancy()).repairMigrations({ ...(flags.tenant === undefined ? {} : { tenants: flags.tenant }), actor });
    out.result(migrationJson(summary), () => renderMigrationSummary(out, summary, 'repaired'));
    return summary.ok ? 0 : 1;
  },
});
