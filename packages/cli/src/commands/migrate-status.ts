import { defineCommand } from '../command.js';
import { requireMigrations } from '../config.js';
import { plural } from '../output.js';
import { runSharedStatus } from './migrate-shared.js';

/** `tenantry migrate:status` */
export const migrateStatus = defineCommand({
  name: 'migrate:status',
  summary: 'Tenants per schema version, pending, migrating and failed — from the registry alone',
  args: [],
  flags: {
    shared: { type: 'boolean', description: "each database's shared migration version, read from its ledger (one connection each)" },
  },
  details: [
    'JSON: { "latest", "migrations": [name…], "versions": [{ "version", "tenants" }], "pending", "migrating", "failed": [{ "id", "slug", "error" }] }',
    'With --shared: { "schema", "latest", "migrations", "pending", "targets": [{ "target": { "server", "tenant" }, "version", "pending", "changed", "error" }] }',
  ].join('\n'),
  async run({ flags, out, config, tenancy }) {
    if (flags.shared === true) return await runSharedStatus(out, config, tenancy);
    requireMigrations(config);
    const status = await (await tenancy()).migrationStatus();
    out.result(status, () => {
      out.fields([
        ['latest', status.latest ?? '(no migrations)'],
        ['migrations', String(status.migrations.length)],
        ['pending', plural(status.pending, 'tenant')],
        ['migrating', plural(status.migrating, 'tenant')],
        ['failed', plural(status.failed.length, 'tenant')],
      ]);
      out.print();
      out.table(
        [
          { header: 'version', max: 70 },
          { header: 'tenants', align: 'right' },
        ],
        status.versions.map((v) => [`${v.version ?? '(none)'}${v.version === status.latest ? ' (latest)' : ''}`, String(v.tenants)]),
      );
      if (status.failed.length > 0) {
        out.print();
        out.print(out.paint('Failed:', 'red'));
        out.table(
          [
            { header: 'tenant', max: 40 },
            { header: 'error', max: 100 },
          ],
          status.failed.map((f) => [f.slug, f.error ?? '']),
        );
      }
      if (status.pending > 0) {
        out.print();
        out.print("Run 'tenantry migrate' to apply pending migrations ('--dry-run' to see them first).");
      }
    });
    return 0;
  },
});
