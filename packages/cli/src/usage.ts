import type { Command, FlagSpec, FlagSpecs } from './command.js';
import { GLOBAL_FLAGS } from './flags.js';

function synopsis(command: Command): string {
  const args = command.args.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`));
  const required = Object.entries(command.flags)
    .filter(([, spec]) => spec.required)
    .map(([name, spec]) => `--${name} <${spec.value ?? 'value'}>`);
  return [command.name, ...args, ...required].join(' ');
}

function flagLabel(name: string, spec: FlagSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '';
  const value = spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : '';
  return `${short}--${name}${value}${spec.multiple ? ' …' : ''}`;
}

function list(rows: readonly (readonly [string, string])[], indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`);
}

function flagRows(flags: FlagSpecs): [string, string][] {
  return Object.entries(flags).map(([name, spec]) => [flagLabel(name, spec), spec.description]);
}

const EXIT_CODES = 'Exit codes: 0 success · 1 a tenant failed, or the command failed · 2 usage error.';

/** `tenantry --help`: every command, the global flags, the exit codes. */
export function topUsage(commands: readonly Command[]): string {
  const lines = ['Usage: tenantry <command> [arguments] [flags]', '', 'Commands:'];
  lines.push(...list(commands.map((c) => [synopsis(c), c.summary])));
  lines.push('', 'Global flags:', ...list([...flagRows(GLOBAL_FLAGS), ['--version', 'print the version']]), '');
  lines.push(
    'Configuration: flags, then --config <path> or tenantry.config.json / tenantry.config.js in the',
    'current folder, then the environment (DATABASE_URL, TENANTRY_MIGRATIONS, TENANTRY_SEEDS).',
    '',
    EXIT_CODES,
    "Run 'tenantry <command> --help' for a command's flags.",
  );
  return lines.join('\n');
}

/** `tenantry tenants --help`: the subcommands of a group. */
export function groupUsage(group: string, commands: readonly Command[]): string {
  const members = commands.filter((c) => c.name.startsWith(`${group} `));
  return [
    'Usage: tenantry ' + group + ' <subcommand> [arguments] [flags]',
    '',
    'Subcommands:',
    ...list(members.map((c) => [synopsis(c), c.summary])),
    '',
    `Run 'tenantry ${group} <subcommand> --help' for its flags.`,
  ].join('\n');
}

/** `tenantry <command> --help`. */
export function commandUsage(command: Command): string {
  const lines = [`Usage: tenantry ${synopsis(command)}${Object.keys(command.flags).length > 0 ? ' [flags]' : ''}`, '', command.summary];
  if (command.args.length > 0) lines.push('', 'Arguments:', ...list(command.args.map((a) => [`<${a.name}>`, a.description])));
  if (Object.keys(command.flags).length > 0) lines.push('', 'Flags:', ...list(flagRows(command.flags)));
  lines.push('', 'Global flags:', ...list(flagRows(GLOBAL_FLAGS)));
  if (command.details !== undefined) lines.push('', command.details);
  lines.push('', EXIT_CODES);
  return lines.join('\n');
}
