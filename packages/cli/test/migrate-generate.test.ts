import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '@tenantry/testing';
import { cleanEnv, runCli, type CliRun } from './run-cli.js';

const db = await createTestDatabase(inject('tenantryServerUrl'));
const work = await mkdtemp(join(tmpdir(), 'tenantry-cli-generate-'));
const migrations = join(work, 'migrations');
const out = join(work, 'src', 'migrations');
await mkdir(migrations);
await writeFile(join(migrations, '0001_items.sql'), 'create table items (id serial primary key, label text not null);\n');
// The application's data source, in plain JS (EntitySchema: no decorators), importing the workspace's TypeORM.
const typeorm = pathToFileURL(createRequire(import.meta.url).resolve('typeorm')).href;
await writeFile(
  join(work, 'data-source.js'),
  `import { DataSource, EntitySchema } from ${JSON.stringify(typeorm)};
const Item = new EntitySchema({ name: 'Item', tableName: 'items', columns: {
  id: { type: 'integer', primary: true, generated: 'increment' }, label: { type: 'text' }, done: { type: 'boolean', default: false } } });
const Note = new EntitySchema({ name: 'Note', tableName: 'notes', columns: {
  id: { type: 'integer', primary: true, generated: 'increment' }, body: { type: 'text' } } });
export const AppDataSource = new DataSource({ type: 'postgres', entities: [Item, Note] });
`,
);
afterAll(async () => {
  await db.drop();
  await rm(work, { recursive: true, force: true });
});
const env = { ...cleanEnv(), DATABASE_URL: db.url, TENANTRY_MIGRATIONS: migrations };
const tenantry = (...args: string[]): Promise<CliRun> => runCli(args, { env, cwd: work });

describe('tenantry migrate:generate', () => {
  it('writes the entities-versus-latest-tenant diff as a TypeORM migration class, and nothing when they agree', async () => {
    const r = await tenantry(
      'migrate:generate',
      'AddNotes',
      '--data-source',
      'data-source.js',
      '--dir',
      'src/migrations',
      '--timestamp',
      '1800000000000',
      '--js',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote ${join(out, '1800000000000-AddNotes.js')} (AddNotes1800000000000, 2 statement(s))`);
    expect(await readdir(out)).toEqual(['1800000000000-AddNotes.js']);
    const text = await readFile(join(out, '1800000000000-AddNotes.js'), 'utf8');
    expect(text).toContain('export class AddNotes1800000000000 {');
    expect(text).toContain('CREATE TABLE "notes"');
    expect(text).toContain('ALTER TABLE "items" ADD "done" boolean NOT NULL DEFAULT false');
    expect(text).not.toMatch(/t_[0-9a-f]{32}/);
    // The class loads and its up() issues the statements (what typeormMigrations() records).
    const module = (await import(pathToFileURL(join(out, '1800000000000-AddNotes.js')).href)) as Record<
      string,
      new () => { up(q: unknown): Promise<void> }
    >;
    const issued: string[] = [];
    await new module['AddNotes1800000000000']!().up({ query: async (sql: string) => void issued.push(sql) });
    expect(issued).toHaveLength(2);

    // With the new migration among the tenant migrations (as SQL here), there is nothing left to generate.
    await writeFile(join(migrations, '0002_add_notes.sql'), `${issued.join(';\n')};\n`);
    const none = await tenantry('migrate:generate', 'Nothing', '--data-source', 'data-source.js', '--dir', 'src/migrations', '--json');
    expect(none.code, none.stderr).toBe(2);
    expect(JSON.parse(none.stdout)).toMatchObject({ file: null, up: [] });
    expect(await readdir(out)).toHaveLength(1);

    const hostile = await tenantry('migrate:generate', '../../evil', '--data-source', 'data-source.js', '--dir', 'src/migrations');
    expect(hostile.code).not.toBe(0);
    expect(hostile.stderr).toContain('INVALID_ARGUMENT');
    const missing = await tenantry('migrate:generate', 'X', '--dir', 'src/migrations');
    expect(missing.stderr).toContain('--data-source <file> is required');
  });
});
