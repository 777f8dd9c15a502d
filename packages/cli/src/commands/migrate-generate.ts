import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Tenancy } from '@tenantry/core';
import { ConfigError, defineCommand, UsageError } from '../command.js';
import { requireMigrations } from '../config.js';
import { intFlag } from '../flags.js';

/** What `@tenantry/typeorm` offers this command (loaded when the command runs: the CLI does not depend on TypeORM). */
interface TypeormGenerator {
  generateTenantMigration(options: {
    tenancy: Tenancy;
    url: string;
    dataSource: unknown;
    name: string;
    dir: string;
    timestamp?: number;
    outputJs?: boolean;
  }): Promise<{ file: string | null; className: string; up: readonly string[]; down: readonly string[] }>;
}

/** `@tenantry/typeorm` as the application has it installed (from `cwd`), else as the CLI can find it. */
async function loadGenerator(cwd: string): Promise<TypeormGenerator> {
  let specifier = '@tenantry/typeorm';
  try {
    specifier = pathToFileURL(createRequire(join(cwd, 'package.json')).resolve('@tenantry/typeorm')).href;
  } catch {
    // Not installed next to the application: try the CLI's own resolution.
  }
  try {
    return (await import(specifier)) as TypeormGenerator;
  } catch (err) {
    throw new ConfigError(`migrate:generate needs @tenantry/typeorm (npm install @tenantry/typeorm typeorm): ${(err as Error).message}`);
  }
}

/** The DataSource a module exports: its default export, or its one exported DataSource (as `typeorm -d` takes it). */
async function loadDataSource(path: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(
      `cannot load the data source ${path}: ${(err as Error).message} (give a .js file, e.g. your compiled dist/data-source.js)`,
    );
  }
  const isDataSource = (v: unknown): boolean =>
    v !== null && typeof v === 'object' && typeof (v as { options?: { type?: unknown } }).options?.type === 'string' && 'driver' in v;
  if (isDataSource(module['default'])) return module['default'];
  const found = Object.values(module).filter(isDataSource);
  if (found.length !== 1)
    throw new ConfigError(`${path} must export one TypeORM DataSource (its default export, or a single named one); found ${found.length}`);
  return found[0];
}

/** `tenantry migrate:generate <Name> --data-source <file> --dir <folder> [--js] [--timestamp ms]` */
export const migrateGenerate = defineCommand({
  name: 'migrate:generate',
  summary: 'Write a TypeORM migration: the diff between the entities and a scratch tenant at the latest version',
  args: [{ name: 'Name', required: true, description: 'the migration class name, e.g. AddTags (a timestamp is appended)' }],
  flags: {
    'data-source': {
      type: 'string',
      value: 'file',
      description: 'a .js module exporting the TypeORM DataSource whose entities the tenants should have',
    },
    dir: { type: 'string', value: 'folder', description: 'where the migration file is written (created when missing)' },
    js: { type: 'boolean', description: 'write an ES module .js file instead of .ts' },
    timestamp: { type: 'string', value: 'ms', description: 'the timestamp of the class and file name (default: now)' },
  },
  details: [
    "Creates a scratch schema tenant on the registry's server with every tenant migration applied, diffs the",
    "DataSource's entities against it with TypeORM's schema builder (what `typeorm migration:generate` runs),",
    'writes <dir>/<timestamp>-<Name>.ts with the SQL made schema-neutral, and deletes the scratch tenant (its',
    'registry row stays DELETED). Nothing is written when entities and tenants agree; exit code 2 then.',
    'Needs @tenantry/typeorm and typeorm installed. JSON: { "file", "className", "up": [sql…], "down": [sql…] }',
  ].join('\n'),
  async run({ args, flags, out, config, tenancy }) {
    requireMigrations(config);
    if (flags['data-source'] === undefined) throw new UsageError('--data-source <file> is required');
    if (flags.dir === undefined) throw new UsageError('--dir <folder> is required');
    if (config.registryUrl === undefined) throw new ConfigError('no registry database URL: set DATABASE_URL or pass --database-url <url>');
    const timestamp = intFlag(flags.timestamp, 'timestamp', 0);
    const cwd = process.cwd();
    const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
    const generator = await loadGenerator(cwd);
    const dataSource = await loadDataSource(abs(flags['data-source']));
    const generated = await generator.generateTenantMigration({
      tenancy: await tenancy(),
      url: config.registryUrl,
      dataSource,
      name: args['Name']!,
      dir: abs(flags.dir),
      ...(timestamp === undefined ? {} : { timestamp }),
      outputJs: flags.js === true,
    });
    out.result(generated, () => {
      if (generated.file === null) {
        out.print('No changes: the entities and the latest tenant migration agree. Nothing was written.');
        return;
      }
      out.print(`Wrote ${generated.file} (${generated.className}, ${generated.up.length} statement(s)):`);
      out.print();
      for (const sql of generated.up) out.print(`  ${sql};`);
    });
    return generated.file === null ? 2 : 0;
  },
});
