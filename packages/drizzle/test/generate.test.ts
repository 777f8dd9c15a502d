import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { drizzleMigrations } from '../dist/index.js';
import { setupHarness } from './helpers.js';

// The drizzle-kit equivalent of `tenantry migrate:generate` (docs/migrations.md): drizzle-kit
// diffs the schema against its own snapshots (no database), offline; Tenantry applies its
// output folder to every tenant.

const h = await setupHarness();
const here = dirname(fileURLToPath(import.meta.url));
// Inside the package, so that the schema file resolves drizzle-orm as the application's would.
const work = mkdtempSync(join(here, '.generate-'));
const kit = join(here, '..', '..', '..', 'node_modules', '.bin', 'drizzle-kit');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Relative paths: drizzle-kit 0.31 reads its snapshots from `./<out>`, which breaks an absolute `--out`. */
async function generate(schema: string, name: string): Promise<void> {
  writeFileSync(join(work, 'schema.ts'), schema);
  await promisify(execFile)(kit, ['generate', '--dialect=postgresql', '--schema=./schema.ts', '--out=./drizzle', `--name=${name}`], {
    cwd: work,
    timeout: 60_000,
  });
}

const V1 = `import { pgTable, serial, text } from 'drizzle-orm/pg-core';
export const authors = pgTable('authors', { id: serial('id').primaryKey(), name: text('name').notNull() });
`;
const V2 = `import { integer, pgEnum, pgTable, serial, text } from 'drizzle-orm/pg-core';
export const mood = pgEnum('mood', ['happy', 'sad']);
export const authors = pgTable('authors', { id: serial('id').primaryKey(), name: text('name').notNull(), mood: mood('mood') });
export const books = pgTable('books', { id: serial('id').primaryKey(), authorId: integer('author_id').notNull().references(() => authors.id), title: text('title').notNull() });
`;

describe('drizzle-kit generate, applied by Tenantry', () => {
  it('generates each schema change offline as the next migration, which reaches existing and new tenants of both kinds', async () => {
    await generate(V1, 'authors');
    const v1 = await h.tenancy({ migrations: drizzleMigrations(join(work, 'drizzle')) });
    const old = [
      await v1.tenants.create({ slug: 'kit-schema', name: 'Schema' }),
      await v1.tenants.create({ slug: 'kit-db', name: 'Database', isolation: 'database' }),
    ];

    await generate(V2, 'books');
    const files = readdirSync(join(work, 'drizzle')).filter((f) => f.endsWith('.sql'));
    expect(files).toEqual(['0000_authors.sql', '0001_books.sql']);
    // drizzle-kit writes "public". before enum types and foreign-key targets; drizzleMigrations removes it.
    expect(readFileSync(join(work, 'drizzle', '0001_books.sql'), 'utf8')).toContain('"public"."authors"');

    const v2 = await h.tenancy({ migrations: drizzleMigrations(join(work, 'drizzle')) });
    const run = await v2.migrate();
    expect(run.ok).toBe(true);
    expect(run.results.map((r) => [r.tenant.slug, r.applied])).toEqual([
      ['kit-schema', ['0001_books']],
      ['kit-db', ['0001_books']],
    ]);
    const fresh = await v2.tenants.create({ slug: 'kit-fresh', name: 'Fresh' });
    for (const t of [...old, fresh]) {
      const rows = await v2.withTenant(t.id, async (db) => {
        const a = await db.query<{ id: number }>("insert into authors (name, mood) values ('x', 'happy') returning id");
        await db.query('insert into books (author_id, title) values ($1, $2)', [a.rows[0]!.id, t.slug]);
        return (await db.query<{ title: string }>('select title from books')).rows;
      });
      expect(rows, t.slug).toEqual([{ title: t.slug }]);
    }
    // The enum and the tables are the tenant's own, not public's.
    const { rows } = await h.admin.query<{ n: number }>(
      "select count(*)::int as n from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.typname = 'mood' and n.nspname = 'public'",
    );
    expect(rows[0]!.n).toBe(0);
  });
});
