/**
 * Seed 000's tenant migrations: applied at `POST /tenants`, and to every existing tenant by
 * `npm run migration:run:tenant` — which rolls every tenant back when one fails.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TENANT_MIGRATIONS } from '../dist/modules/tenanted/migrations/index.js';
import { runTenantMigrations } from '../dist/tenant-migrations.js';
import { serve } from './serve.js';

/** A migration added after the tenants were created, as `migration:generate:tenant` would write it. */
class AddPostViews1700000000001 implements MigrationInterface {
  name = 'AddPostViews1700000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "posts" ADD "views" integer NOT NULL DEFAULT 0`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "posts" DROP COLUMN "views"`);
  }
}

/** One that fails on the third tenant only: its data breaks the constraint. */
class LimitTitleLength1700000000002 implements MigrationInterface {
  name = 'LimitTitleLength1700000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "posts" ADD "slug" character varying`);
    await q.query(`ALTER TABLE "posts" ADD CONSTRAINT "CHK_posts_title_length" CHECK (char_length("title") <= 20)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "posts" DROP CONSTRAINT "CHK_posts_title_length"`);
    await q.query(`ALTER TABLE "posts" DROP COLUMN "slug"`);
  }
}

const { call, db } = await serve(4);
const tenants: { name: string; subdomain: string; schema: string }[] = [];

async function columns(schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ c: string }>(
      `select column_name::text as c from information_schema.columns where table_schema = $1 and table_name = 'posts' order by ordinal_position`,
      [schema],
    );
    return rows.map((r) => r.c);
  } finally {
    await client.end();
  }
}

async function run(migrations: readonly (new () => MigrationInterface)[]) {
  const lines: string[] = [];
  const summary = await runTenantMigrations({ registryUrl: db.url, migrations, write: (line: string) => lines.push(line) });
  return { summary, output: lines.join('\n') };
}

describe('tenant migrations (migration:run:tenant, roll-back-all)', () => {
  it('npm run migration:run:tenant finds every tenant, each up to date, and prints the seed’s summary', async () => {
    for (const [name, subdomain, title] of [
      ['Acme Corp', 'acme', 'Acme post'],
      ['Tech Inc', 'tech', 'Tech post'],
      ['Startup LLC', 'startup', 'A title far longer than twenty characters'],
    ] as const) {
      const t = await call('/tenants', { method: 'POST', body: { name, subdomain } });
      expect(t).toMatchObject({ status: 201, body: { schemaVersion: 'CreatePosts1700000000000' } });
      tenants.push({ name, subdomain, schema: t.body.schema });
      expect((await call('/posts', { method: 'POST', tenant: subdomain, body: { title, content: name } })).status).toBe(201);
    }
    const script = fileURLToPath(new URL('../dist/migrate-tenants.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, DATABASE_URL: db.url } });
    expect(stdout).toContain('📋 Found 3 tenant(s) to migrate:');
    for (const [i, t] of tenants.entries()) expect(stdout).toContain(`   ${i + 1}. ${t.name} (${t.schema})`);
    expect(stdout.match(/✅ Already up to date/g)).toHaveLength(3);
    expect(stdout).toContain('✅ Successful: 3\n❌ Failed: 0');
    expect(stdout.trim().endsWith('🎉 All tenant migrations completed successfully!')).toBe(true);
  });

  it('a new migration is applied to every existing tenant, one after the other', async () => {
    const { summary, output } = await run([...TENANT_MIGRATIONS, AddPostViews1700000000001]);
    expect(summary.ok).toBe(true);
    expect(summary.counts.migrated).toBe(3);
    for (const t of tenants) {
      expect(output).toContain(`🔄 Migrating ${t.schema}...\n   ✅ Applied 1 migration(s)\n      - AddPostViews1700000000001`);
      expect(await columns(t.schema)).toContain('views');
      expect((await call(`/tenants/${t.subdomain}`)).body.schemaVersion).toBe('AddPostViews1700000000001');
    }
    expect(output).toContain('✅ Successful: 3\n❌ Failed: 0');
    // The app keeps serving: its entity does not map the new column.
    expect((await call('/posts', { tenant: 'acme' })).body.map((p: { title: string }) => p.title)).toEqual(['Acme post']);
  });

  it('when one tenant fails, the tenants migrated before it are rolled back and every tenant stays in service at its previous version', async () => {
    const { summary, output } = await run([...TENANT_MIGRATIONS, AddPostViews1700000000001, LimitTitleLength1700000000002]);
    expect(summary.ok).toBe(false);
    const [acme, tech, startup] = tenants as [(typeof tenants)[0], (typeof tenants)[0], (typeof tenants)[0]];
    expect(output).toContain(`🔄 Migrating ${acme.schema}...\n   ✅ Applied 1 migration(s)\n      - LimitTitleLength1700000000002`);
    expect(output).toContain(`🔄 Migrating ${tech.schema}...\n   ✅ Applied 1 migration(s)`);
    expect(output).toMatch(new RegExp(`🔄 Migrating ${startup.schema}\\.\\.\\.\\n   ❌ Failed: .*CHK_posts_title_length`));
    expect(output).toContain('🔄 Rolling back all successful migrations...');
    expect(output).toContain(`   🔄 Rolling back ${acme.schema}...\n      ✅ Rolled back successfully (LimitTitleLength1700000000002)`);
    expect(output).toContain(`   🔄 Rolling back ${tech.schema}...`);
    expect(output).toContain('✅ Successful: 0\n❌ Failed: 1\n↩️  Rolled back: 2');
    expect(output.trim().endsWith(`❌ Migration failed for ${startup.schema}. All migrations have been rolled back.`)).toBe(true);

    for (const t of tenants) {
      expect(await columns(t.schema)).not.toContain('slug');
      expect((await call(`/tenants/${t.subdomain}`)).body).toMatchObject({ status: 'ACTIVE', schemaVersion: 'AddPostViews1700000000001' });
    }
    // Every tenant serves, and long titles are still accepted (the constraint is gone everywhere).
    for (const t of tenants) {
      expect(
        (await call('/posts', { method: 'POST', tenant: t.subdomain, body: { title: 'Another title longer than twenty', content: 'x' } }))
          .status,
      ).toBe(201);
    }
  });
});
