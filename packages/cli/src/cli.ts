#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { assertSlug, createTenancy, isTenantryError, parseTenantRef, type Tenancy } from '@tenantry/core';
import { parseInvocation } from './args.js';
import { UsageError, type Command, type CommandContext, type FlagSpecs, type FlagValues } from './command.js';
import { loadConfig, tenancyOptions } from './config.js';
import { Output, type OutputStream } from './output.js';
import { stderrLogger } from './stderr-logger.js';
import { commandUsage, groupUsage, topUsage } from './usage.js';
import { doctor } from './commands/doctor.js';
import { migrate } from './commands/migrate.js';
import { migrateRepair } from './commands/migrate-repair.js';
import { migrateRollback } from './commands/migrate-rollback.js';
import { migrateStatus } from './commands/migrate-status.js';
import { migrateGenerate } from './commands/migrate-generate.js';
import { run } from './commands/run.js';
import { seed } from './commands/seed.js';
import { serversAdd } from './commands/servers-add.js';
import { serversDrain } from './commands/servers-drain.js';
import { serversList } from './commands/servers-list.js';
import { serversRemove } from './commands/servers-remove.js';
import { serversUndrain } from './commands/servers-undrain.js';
import { serversUpdate } from './commands/servers-update.js';
import { tenantsCreate } from './commands/tenants-create.js';
import { tenantsDelete } from './commands/tenants-delete.js';
import { tenantsList } from './commands/tenants-list.js';
import { tenantsRename } from './commands/tenants-rename.js';
import { tenantsResume } from './commands/tenants-resume.js';
import { tenantsShow } from './commands/tenants-show.js';
import { tenantsRenamePhysical } from './commands/tenants-rename-physical.js';
import { tenantsSuspend } from './commands/tenants-suspend.js';
import { tenantsBackup } from './commands/tenants-backup.js';
import { tenantsRestore } from './commands/tenants-restore.js';
import { tenantsClone } from './commands/tenants-clone.js';
import { tenantsMove } from './commands/tenants-move.js';
import { tenantsPurgeMoved } from './commands/tenants-purge-moved.js';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  tenantsCreate,
  tenantsList,
  tenantsShow,
  tenantsSuspend,
  tenantsResume,
  tenantsRename,
  tenantsRenamePhysical,
  tenantsDelete,
  tenantsBackup,
  tenantsRestore,
  tenantsClone,
  tenantsMove,
  tenantsPurgeMoved,
  migrate,
  migrateStatus,
  migrateRollback,
  migrateRepair,
  migrateGenerate,
  run,
  seed,
  doctor,
  serversAdd,
  serversList,
  serversDrain,
  serversUndrain,
  serversUpdate,
  serversRemove,
];

/** Where the CLI reads and writes: the process, or stand-ins in tests. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function usageFailure(io: CliIo, err: UsageError): number {
  io.stderr.write(`error: ${err.message}\n\n${err.command ? commandUsage(err.command) : topUsage(COMMANDS)}\n`);
  return 2;
}

/**
 * Checks the tenant slugs and ids given on the command line before anything connects: a
 * malformed one is a usage error (exit code 2), like any other malformed argument.
 */
function checkTenantArguments(command: Command, args: Readonly<Record<string, string | undefined>>, flags: FlagValues<FlagSpecs>): void {
  for (const spec of command.args) {
    const value = args[spec.name];
    if (value === undefined) continue;
    if (spec.name === 'slug' || spec.name === 'newSlug') assertSlug(value);
    else if (spec.name === 'idOrSlug') parseTenantRef(value);
  }
  const tenants = command.flags['tenant'] === undefined ? undefined : flags['tenant'];
  if (Array.isArray(tenants)) for (const value of tenants) parseTenantRef(value);
}

/**
 * Runs `tenantry` with `argv` (the arguments after the script) and returns the exit code:
 * 0 success, 1 a tenant or the command failed, 2 usage error.
 */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() },
): Promise<number> {
  let invocation;
  try {
    invocation = parseInvocation(argv, COMMANDS);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err);
    throw err;
  }
  if (invocation.kind === 'version') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (invocation.kind === 'help') {
    const text = invocation.command
      ? commandUsage(invocation.command)
      : invocation.group
        ? groupUsage(invocation.group, COMMANDS)
        : topUsage(COMMANDS);
    io.stdout.write(`${text}\n`);
    return 0;
  }
  const { command, flags, args } = invocation;
  const out = new Output(io, { json: flags['json'] === true, env: io.env });
  const verbose = flags['verbose'] === true;
  let tenancy: Tenancy | undefined;
  try {
    checkTenantArguments(command, args, flags as FlagValues<FlagSpecs>);
    const config = await loadConfig(
      {
        config: flags['config'] as string | undefined,
        databaseUrl: flags['database-url'] as string | undefined,
        migrations: flags['migrations'] as string | undefined,
        seeds: flags['seeds'] as string | undefined,
      },
      io.cwd,
      io.env,
    );
    const ctx: CommandContext<FlagSpecs> = {
      flags: flags as FlagValues<FlagSpecs>,
      args,
      out,
      config,
      env: io.env,
      actor: (flags['actor'] as string | undefined) ?? defaultActor(),
      tenancy: async () =>
        (tenancy ??= await createTenancy({ ...tenancyOptions(config), ...(verbose ? { logger: stderrLogger(io.stderr) } : {}) })),
    };
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, new UsageError(err.message, err.command ?? command));
    // A malformed slug or id is the caller's typo, found before any SQL: a usage error.
    if (isTenantryError(err, 'INVALID_TENANT_ID')) return usageFailure(io, new UsageError(err.message, command));
    out.error(err, verbose);
    return 1;
  } finally {
    await tenancy?.close();
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Runs `tenantry` as the process: the arguments of `process.argv`, the exit code in
 * `process.exitCode`. What the `tenantry` bin (`bin/tenantry.js`) calls.
 */
export async function runAsProcess(): Promise<void> {
  // `tenantry tenants list | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}

// `node packages/cli/dist/cli.js …` works too.
if (isEntryPoint()) await runAsProcess();
