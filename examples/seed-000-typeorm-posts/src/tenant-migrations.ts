import { createTenancy, type MigrationSummary, type Tenant, type TenantMigrationResult } from '@tenantry/core';
import { typeormMigrations } from '@tenantry/typeorm';
import type { MigrationInterface } from 'typeorm';

const RULE = '━'.repeat(40);

export interface RunTenantMigrationsOptions {
  readonly registryUrl: string;
  /** TypeORM migration classes, oldest first. */
  readonly migrations: readonly (new () => MigrationInterface)[];
  /** Where the report goes, a line at a time. */
  readonly write: (line: string) => void;
}

function causeOf(r: TenantMigrationResult): string {
  const cause = r.error?.cause;
  return cause instanceof Error ? cause.message : (r.error?.message ?? 'unknown error');
}

/**
 * Seed 000's `migrate-tenants.ts` on Tenantry: applies the pending tenant migrations to every
 * tenant, one tenant at a time, and — when one fails — undoes them on the tenants already
 * migrated in this run (`tenancy.migrate({ onError: 'rollback-all' })`), so that every tenant
 * stays at the same version. Writes the seed's progress and summary; resolves to the summary
 * (`ok` false when a tenant failed).
 */
export async function runTenantMigrations({ registryUrl, migrations, write }: RunTenantMigrationsOptions): Promise<MigrationSummary> {
  const tenancy = await createTenancy({
    registryUrl,
    migrations: typeormMigrations({ migrations: [...migrations] }),
    pool: { max: 2 },
    applicationName: 'seed-000-migrate-tenants',
  });
  try {
    write('✅ Connected to the registry');
    const tenants = new Map<string, Tenant>();
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await tenancy.tenants.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      for (const t of page.items) tenants.set(t.id, t);
      cursor = page.nextCursor;
    }
    write('');
    write(`📋 Found ${tenants.size} tenant(s) to migrate:`);
    write('');
    [...tenants.values()].forEach((t, i) => write(`   ${i + 1}. ${t.name} (${t.physicalName})`));
    const schemaOf = (r: TenantMigrationResult) => tenants.get(r.tenant.id)?.physicalName ?? r.tenant.slug;
    let rollingBack = false;
    const summary = await tenancy.migrate({
      onError: 'rollback-all',
      concurrency: 1,
      actor: 'migration:run:tenant',
      onProgress: ({ result: r }) => {
        if (r.status === 'rolled-back') {
          if (!rollingBack) write('\n🔄 Rolling back all successful migrations...');
          rollingBack = true;
          write(`   🔄 Rolling back ${schemaOf(r)}...`);
          write(`      ✅ Rolled back successfully (${r.applied.join(', ')})`);
          return;
        }
        write('');
        if (r.status === 'skipped') {
          write(`⏭️  Skipped ${schemaOf(r)}: an earlier tenant failed`);
          return;
        }
        write(`🔄 Migrating ${schemaOf(r)}...`);
        if (r.status === 'up-to-date') write('   ✅ Already up to date');
        else if (r.status === 'failed') write(`   ❌ Failed: ${causeOf(r)}`);
        else {
          write(`   ✅ Applied ${r.applied.length} migration(s)`);
          for (const name of r.applied) write(`      - ${name}`);
        }
      },
    });
    const failed = summary.results.filter((r) => r.status === 'failed');
    write('');
    write(RULE);
    write('📊 Migration Summary:');
    write(RULE);
    write(`✅ Successful: ${summary.counts.migrated + summary.counts['up-to-date']}`);
    write(`❌ Failed: ${failed.length}`);
    if (summary.counts['rolled-back'] > 0) write(`↩️  Rolled back: ${summary.counts['rolled-back']}`);
    if (summary.counts.skipped > 0) write(`⏭️  Skipped: ${summary.counts.skipped}`);
    write(RULE);
    write('');
    if (summary.ok) write('🎉 All tenant migrations completed successfully!');
    else write(`❌ Migration failed for ${failed.map(schemaOf).join(', ')}. All migrations have been rolled back.`);
    return summary;
  } finally {
    await tenancy.close();
  }
}
