import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Command, type FlagSpecs } from './command.js';
import { GLOBAL_FLAGS } from './flags.js';

/** What the command line asks for. */
export type Invocation =
  | { readonly kind: 'help'; readonly command?: Command; readonly group?: string }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly command: Command;
      readonly flags: Readonly<Record<string, string | boolean | string[] | undefined>>;
      readonly args: Readonly<Record<string, string | undefined>>;
    };

const GLOBALS_WITH_VALUE = new Set(
  Object.entries(GLOBAL_FLAGS)
    .filter(([, spec]) => spec.type === 'string')
    .map(([name]) => `--${name}`),
);

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** `; did you mean 'x'?` for the closest candidate, or nothing. */
export function suggest(input: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(input) && input.length >= 3 ? 0.5 : distance(input, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? `; did you mean '${best}'?` : '';
}

function groupOf(word: string, commands: readonly Command[]): Command[] {
  return commands.filter((c) => c.name.startsWith(`${word} `));
}

function match(words: readonly string[], commands: readonly Command[]): { command: Command; used: number } | undefined {
  if (words.length >= 2) {
    const two = commands.find((c) => c.name === `${words[0]} ${words[1]}`);
    if (two) return { command: two, used: 2 };
  }
  const one = commands.find((c) => c.name === words[0]);
  return one ? { command: one, used: 1 } : undefined;
}

function resolveCommand(words: readonly string[], commands: readonly Command[]): { command: Command; used: number } | { group: string } {
  const found = match(words, commands);
  if (found) return found;
  const word = words[0]!;
  const group = groupOf(word, commands);
  if (group.length > 0) {
    const sub = words[1];
    if (sub === undefined)
      throw new UsageError(`'tenantry ${word}' needs a subcommand: ${group.map((c) => c.name.split(' ')[1]).join(', ')}`);
    if (sub === '--help' || sub === '-h') return { group: word };
    const subs = group.map((c) => c.name.split(' ')[1]!);
    throw new UsageError(`unknown subcommand '${sub}' of 'tenantry ${word}'${suggest(sub, subs)} (one of ${subs.join(', ')})`);
  }
  const names = [...new Set(commands.map((c) => c.name.split(' ')[0]!))];
  throw new UsageError(`unknown command '${word}'${suggest(word, names)}`);
}

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;

function toParseArgsOptions(flags: FlagSpecs): ParseArgsOptions {
  const options: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(flags)) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  return options;
}

/** Turns parseArgs' errors into usage errors that name the command and suggest a flag. */
function flagError(err: unknown, command: Command): UsageError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const flag = /'(-{1,2}[^' =]+)/.exec(message)?.[1] ?? '';
  const known = Object.keys({ ...GLOBAL_FLAGS, ...command.flags }).map((f) => `--${f}`);
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown flag '${flag}' for 'tenantry ${command.name}'${suggest(flag, known)}`, command);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(message)) return new UsageError(`${flag} needs a value`, command);
      if (/does not take an argument/.test(message)) return new UsageError(`${flag} takes no value`, command);
      if (/ambiguous/.test(message))
        return new UsageError(`${flag} needs a value; to give one starting with '-', write ${flag}=<value>`, command);
      return new UsageError(message, command);
    default:
      return new UsageError(message, command);
  }
}

/**
 * Parses `argv` (without `node` and the script) strictly: the command words first (global
 * flags may come before them), then the command's flags and arguments. Throws
 * {@link UsageError} for anything it does not know.
 */
export function parseInvocation(argv: readonly string[], commands: readonly Command[]): Invocation {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    const token = argv[i]!;
    if (token === '--version') return { kind: 'version' };
    leading.push(token);
    if (GLOBALS_WITH_VALUE.has(token) && i + 1 < argv.length) {
      leading.push(argv[i + 1]!);
      i += 2;
    } else {
      i += 1;
    }
  }
  const words = argv.slice(i);
  if (words.length === 0) {
    if (leading.includes('--help') || leading.includes('-h')) return { kind: 'help' };
    throw new UsageError('no command given');
  }
  if (words[0] === 'help') {
    if (words.length === 1) return { kind: 'help' };
    if (words.length === 2 && groupOf(words[1]!, commands).length > 0 && !commands.some((c) => c.name === words[1]))
      return { kind: 'help', group: words[1]! };
    const found = resolveCommand(words.slice(1), commands);
    return 'group' in found ? { kind: 'help', group: found.group } : { kind: 'help', command: found.command };
  }
  const found = resolveCommand(words, commands);
  if ('group' in found) return { kind: 'help', group: found.group };
  const { command, used } = found;

  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...leading, ...words.slice(used)],
      options: toParseArgsOptions({ ...GLOBAL_FLAGS, ...command.flags }),
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw flagError(err, command);
  }
  if (parsed.values['help'] === true) return { kind: 'help', command };
  const args: Record<string, string | undefined> = {};
  command.args.forEach((spec, index) => {
    const value = parsed.positionals[index];
    if (value === undefined && spec.required)
      throw new UsageError(`'tenantry ${command.name}' needs <${spec.name}>: ${spec.description}`, command);
    args[spec.name] = value;
  });
  for (const [name, spec] of Object.entries(command.flags)) {
    if (spec.required && parsed.values[name] === undefined)
      throw new UsageError(`'tenantry ${command.name}' needs --${name} <${spec.value ?? 'value'}>: ${spec.description}`, command);
  }
  const extra = parsed.positionals.slice(command.args.length);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' for 'tenantry ${command.name}'`, command);
  return { kind: 'run', command, flags: parsed.values as Record<string, string | boolean | string[] | undefined>, args };
}
