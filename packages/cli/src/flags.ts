import { UsageError, type FlagSpec } from './command.js';

/** Flags every command accepts. */
export const GLOBAL_FLAGS = {
  config: {
    type: 'string',
    value: 'path',
    description: 'config file (default: TENANTRY_CONFIG, else tenantry.config.json or tenantry.config.js in the current folder)',
  },
  'database-url': { type: 'string', value: 'url', description: 'registry database URL (default: DATABASE_URL)' },
  migrations: { type: 'string', value: 'dir', description: 'tenant migrations folder (default: TENANTRY_MIGRATIONS)' },
  seeds: { type: 'string', value: 'dir', description: 'seeds folder (default: TENANTRY_SEEDS)' },
  json: { type: 'boolean', description: 'print one JSON document on stdout, nothing else' },
  verbose: { type: 'boolean', description: "print Tenantry's log and error causes on stderr" },
  help: { type: 'boolean', short: 'h', description: 'show help' },
} as const satisfies Record<string, FlagSpec>;

/** `--tenant`, repeatable. */
export const TENANT_FLAG = {
  type: 'string',
  multiple: true,
  value: 'idOrSlug',
  description: 'only this tenant (repeatable); default: every tenant',
} as const satisfies FlagSpec;

/** `--concurrency`. */
export const CONCURRENCY_FLAG = { type: 'string', value: 'n', description: 'tenants at once (default 4)' } as const satisfies FlagSpec;

/** `--concurrency` of migration runs, which keep one connection for the registry. */
export const MIGRATION_CONCURRENCY_FLAG = {
  type: 'string',
  value: 'n',
  description: 'tenants at once (default 4; at most pool.max - 1)',
} as const satisfies FlagSpec;

/** `--actor`, for commands that change state. */
export const ACTOR_FLAG = {
  type: 'string',
  value: 'name',
  description: 'who the activity log records (default: cli:<os user>)',
} as const satisfies FlagSpec;

/** Parses an integer flag; a usage error when it is not one, or is below `min`. */
export function intFlag(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${flag} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be at least ${min}, got ${value}`);
  return n;
}

/** Checks a flag against its allowed values; a usage error otherwise. */
export function choiceFlag<const T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')}; got '${value}'`);
  return value as T;
}
