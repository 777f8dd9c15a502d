import type { Tenancy } from '@tenantry/core';
import type { ResolvedConfig } from './config.js';
import type { Output } from './output.js';

/** A flag a command accepts. Everything is parsed by `node:util` parseArgs in strict mode. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** The command cannot run without it (checked while parsing: a usage error). */
  readonly required?: boolean;
  /** Shown in the help, e.g. `n` for `--concurrency <n>`. */
  readonly value?: string;
  readonly description: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The parsed values of a command's flags, typed from its specs. */
export type FlagValues<F extends FlagSpecs> = {
  readonly [K in keyof F]?: F[K] extends { type: 'boolean' } ? boolean : F[K] extends { multiple: true } ? string[] : string;
};

/** A positional argument. */
export interface ArgSpec {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

/** What a command gets to do its work: its arguments, the output, and the library. */
export interface CommandContext<F extends FlagSpecs> {
  readonly flags: FlagValues<F>;
  /** Positional arguments by name (required ones are present). */
  readonly args: Readonly<Record<string, string | undefined>>;
  readonly out: Output;
  readonly config: ResolvedConfig;
  /** The environment the CLI runs in. */
  readonly env: NodeJS.ProcessEnv;
  /** Who the activity log records for state changes: `--actor`, or `cli:<os user>`. */
  readonly actor: string;
  /** Opens the tenancy on first call (closed by the dispatcher when the command ends). */
  tenancy(): Promise<Tenancy>;
}

/** One `tenantry` command, in a file of its own. */
export interface Command<F extends FlagSpecs = FlagSpecs> {
  /** One or two words: `migrate`, `migrate:status`, `tenants create`. */
  readonly name: string;
  readonly summary: string;
  readonly args: readonly ArgSpec[];
  readonly flags: F;
  /** Extra help text: examples, exit codes. */
  readonly details?: string;
  /** Returns the exit code. */
  run(ctx: CommandContext<F>): Promise<number>;
}

/** Keeps a command's flag types when it is put in the command list. */
export function defineCommand<const F extends FlagSpecs>(command: Command<F>): Command {
  return command as unknown as Command;
}

/** The command line is wrong: unknown command or flag, a missing or malformed argument. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose usage to print, if known. */
  readonly command: Command | undefined;

  constructor(message: string, command?: Command) {
    super(message);
    this.command = command;
  }
}

/** The CLI's own configuration is missing or malformed. Exit code 1. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Exit codes of `tenantry`. */
export const ExitCodes = {
  OK: 0,
  /** A tenant failed, or the command failed. */
  FAILED: 1,
  /** The command line is wrong: unknown command or flag, a missing or malformed argument. */
  USAGE: 2,
} as const;
