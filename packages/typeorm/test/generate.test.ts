import 'reflect-metadata';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Column, DataSource, Entity, Index, PrimaryGeneratedColumn, type MigrationInterface } from 'typeorm';
import { generateTenantMigration, typeormMigrations, unqualifySchema } from '../dist/index.js';
import { Note } from './fixtures/entities.js';
import { CreateItems1700000000001 } from './fixtures/migrations.js';
import { codeOf, setupHarness } from './helpers.js';

// The entities have moved on from the migrations: `items` gained a column and lost its index,
// and `notes` is new.
@Entity('items')
class ItemV2 {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'text' })
  owner!: string;

  @Column({ type: 'text' })
  label!: string;

  @Index()
  @Column({ type: 'text', default: 'blue' })
  colour!: string;
}

const h = await setupHarness();

describe('generateTenantMigration (tenantry migrate:generate for TypeORM)', () => {
  it('writes the difference between the entities and the latest tenant as a schema-neutral migration that then applies to every tenant', async () => {
    const dataSource = new DataSource({ type: 'postgres', entities: [ItemV2, Note] });
    const tenancy = await h.tenancy({ migrations: typeormMigrations({ migrations: [CreateItems1700000000001], dataSource }) });
    const existing = await tenancy.tenants.create({ slug: 'gen-existing', name: 'Existing', isolation: 'database' });
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-generate-'));

    const generated = await generateTenantMigration({
      tenancy,
      url: h.db.url,
      dataSource,
      name: 'AddColourAndNotes',
      dir,
      timestamp: 1800000000000,
    });
    expect(generated.className).toBe('AddColourAndNotes1800000000000');
    expect(generated.file).toBe(join(dir, '1800000000000-AddColourAndNotes.ts'));
    expect(readdirSync(dir)).toEqual(['1800000000000-AddColourAndNotes.ts']);
    const text = readFileSync(generated.file!, 'utf8');
    // No trace of the scratch tenant's schema: the SQL runs in whichever tenant it is applied to.
    expect(text).not.toMatch(/"t_[0-9a-f]{32}"/);
    expect(text).toContain('CREATE TABLE "notes"');
    expect(text).toContain('ALTER TABLE "items" ADD "colour" text NOT NULL DEFAULT');
    // The scratch tenant is gone.
    const { rows } = await h.admin.query<{ n: number }>(
      "select count(*)::int as n from tenantry.tenants where slug like 'generate-%' and status <> 'DELETED'",
    );
    expect(rows[0]!.n).toBe(0);

    // The generated class is a migration like any other: the existing tenant and a new one get it.
    const module = (await import(generated.file!)) as Record<string, new () => MigrationInterface>;
    const Generated = module[generated.className]!;
    const next = await h.tenancy({ migrations: typeormMigrations({ migrations: [CreateItems1700000000001, Generated], dataSource }) });
    const run = await next.migrate();
    expect(run.ok).toBe(true);
    expect(run.results.find((r) => r.tenant.slug === 'gen-existing')?.applied).toEqual(['AddColourAndNotes1800000000000']);
    const fresh = await next.tenants.create({ slug: 'gen-fresh', name: 'Fresh' });
    for (const t of [existing, fresh]) {
      const r = await next.withTenant(t.id, async (db) => {
        await db.query("insert into items (owner, label) values ('o', 'l')");
        await db.query("insert into notes (body) values ('hello')");
        return (await db.query<{ colour: string }>('select colour from items')).rows;
      });
      expect(r, t.slug).toEqual([{ colour: 'blue' }]);
    }
    // Entities and tenants now agree: nothing more to generate, no file written.
    const none = await generateTenantMigration({ tenancy: next, url: h.db.url, dataSource, name: 'Nothing', dir });
    expect(none.file).toBeNull();
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('refuses a name that is not a class name before creating anything', async () => {
    const dataSource = new DataSource({ type: 'postgres', entities: [Note] });
    const tenancy = await h.tenancy({});
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-generate-'));
    const before = (await tenancy.tenants.list({ limit: 1000 })).items.length;
    for (const name of ['', '../evil', 'Add Tags', 'x`; process.exit(1); `', '1Up', 'Ä']) {
      const err = await generateTenantMigration({ tenancy, url: h.db.url, dataSource, name, dir }).catch((e: unknown) => e);
      expect(codeOf(err), name).toBe('INVALID_ARGUMENT');
    }
    expect(readdirSync(dir)).toEqual([]);
    expect((await tenancy.tenants.list({ limit: 1000 })).items).toHaveLength(before);
  });

  it('unqualifySchema removes only the schema qualifier, never text in literals or comments', () => {
    expect(
      unqualifySchema(
        `ALTER TABLE "t_1"."items" ADD CONSTRAINT "FK" FOREIGN KEY ("x") REFERENCES "t_1"."notes"("id") -- "t_1".keep`,
        't_1',
      ),
    ).toBe(`ALTER TABLE "items" ADD CONSTRAINT "FK" FOREIGN KEY ("x") REFERENCES "notes"("id") -- "t_1".keep`);
    expect(unqualifySchema(`COMMENT ON TABLE "t_1"."items" IS '"t_1".x'`, 't_1')).toBe(`COMMENT ON TABLE "items" IS '"t_1".x'`);
  });
});
