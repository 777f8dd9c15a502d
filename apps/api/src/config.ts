import { resolve } from 'node:path';
import { Plans, UrlCipher, type PlanLimits } from '@tenantry/core';

/** The service's settings, from the environment. */
export interface ApiConfig {
  /** HTTP port (`PORT`, default 3000; 0 picks a free one). */
  readonly port: number;
  /** Interface to listen on (`HOST`, default all). */
  readonly host: string | undefined;
  /** Registry database (`DATABASE_URL`); unset: an embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Where the embedded PostgreSQL keeps its data (`TENANTRY_DATA_DIR`, default `.tenantry`). */
  readonly dataDir: string;
  /** Admin bearer token (`TENANTRY_ADMIN_TOKEN`); unset: generated on first start and kept as a hash. */
  readonly adminToken: string | undefined;
  /** Replace the stored admin token with a new one at start (`TENANTRY_RESET_ADMIN_TOKEN=1`). */
  readonly resetAdminToken: boolean;
  /** HS256 key for tenant tokens (`TENANTRY_JWT_SECRET`, ≥ 32 characters); unset: generated and kept. */
  readonly jwtSecret: string | undefined;
  /** Lifetime of tokens from `POST /auth/login` (`TENANTRY_TOKEN_TTL`, seconds, default 3600). */
  readonly tokenTtlSeconds: number;
  /** Enables the subdomain resolver: `acme.<base>` → tenant `acme` (`TENANTRY_BASE_DOMAIN`). */
  readonly baseDomain: string | undefined;
  /** Largest accepted JSON body (`TENANTRY_BODY_LIMIT`, default `100kb`). */
  readonly bodyLimit: string;
  /** pino level (`LOG_LEVEL`, default `info`; `silent` for none). */
  readonly logLevel: string;
  /** Server connections to the registry server (`TENANTRY_POOL_MAX`, default 10). */
  readonly poolMax: number;
  /**
   * How long an idle server connection is kept before it is closed (`TENANTRY_POOL_IDLE_MS`,
   * milliseconds, default 30000). A kept backend stays warm for the tenants it served.
   */
  readonly poolIdleMs: number;
  /**
   * Connections a tenant over its plan's share may not take, kept free for the others
   * (`TENANTRY_POOL_SHARE_HEADROOM`, default 1, or 0 when `TENANTRY_POOL_MAX` is 1; below the
   * pool's max): with the API's plans a flooding tenant then costs the others ≈ 1.1× p99 instead
   * of ≈ 3–5× (`bench:fairness`), for ≈ 7% of the flood's own throughput.
   */
  readonly poolShareHeadroom: number;
  /**
   * Key that encrypts the URLs of added servers in the registry (`TENANTRY_ENCRYPTION_KEY`:
   * 64 hex digits or base64 of 32 bytes); needed to add servers and reach their tenants.
   */
  readonly encryptionKey: string | undefined;
  /**
   * Limits per plan (`TENANTRY_PLANS`, JSON: plan name to maxConnectionShare,
   * statementTimeoutMs, requestsPerSecond); unset: {@link DEFAULT_API_PLANS}. An empty object
   * turns every limit off.
   */
  readonly plans: Readonly<Record<string, PlanLimits>>;
  /**
   * Tenants kept provisioned ahead of signups, per server: `TENANTRY_PENDING_SCHEMA_TENANTS`
   * (default 2) and `TENANTRY_PENDING_DATABASE_TENANTS` (default 0), each 0..100. `POST /tenants`
   * then claims a ready one (docs/registry.md, "Pending tenants").
   */
  readonly pendingTenants: { readonly schema: number; readonly database: number };
}

/**
 * The reference service's plans when `TENANTRY_PLANS` is unset: seed 003's three, with limits;
 * tenants without a plan (or with another name) get `default`, which limits nothing.
 */
export const DEFAULT_API_PLANS: Readonly<Record<string, PlanLimits>> = Object.freeze({
  STARTER: { maxConnectionShare: 0.25, statementTimeoutMs: 5_000, requestsPerSecond: 20 },
  BUSINESS: { maxConnectionShare: 0.5, statementTimeoutMs: 15_000, requestsPerSecond: 100 },
  ENTERPRISE: { maxConnectionShare: 0.75, statementTimeoutMs: 60_000, requestsPerSecond: 500 },
});

function plansFrom(env: NodeJS.ProcessEnv): Readonly<Record<string, PlanLimits>> {
  const raw = optional(env, 'TENANTRY_PLANS');
  if (raw === undefined) return DEFAULT_API_PLANS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('TENANTRY_PLANS must be JSON, e.g. {"STARTER":{"maxConnectionShare":0.25,"requestsPerSecond":20}}');
  }
  try {
    new Plans(parsed as Record<string, PlanLimits>);
  } catch (err) {
    throw new ConfigError(`TENANTRY_PLANS: ${(err as Error).message}`);
  }
  return parsed as Record<string, PlanLimits>;
}

/** A setting is wrong; the message says which and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and checks the environment. Throws {@link ConfigError}. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL, e.g. postgres://user:password@localhost:5432/tenantry');
  }
  const adminToken = optional(env, 'TENANTRY_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16) throw new ConfigError('TENANTRY_ADMIN_TOKEN must be at least 16 characters');
  const jwtSecret = optional(env, 'TENANTRY_JWT_SECRET');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32)
    throw new ConfigError('TENANTRY_JWT_SECRET must be at least 32 bytes (e.g. `openssl rand -base64 48`)');
  const baseDomain = optional(env, 'TENANTRY_BASE_DOMAIN')?.toLowerCase();
  if (baseDomain !== undefined && !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(baseDomain))
    throw new ConfigError('TENANTRY_BASE_DOMAIN must be a host name such as example.com');
  const bodyLimit = optional(env, 'TENANTRY_BODY_LIMIT') ?? '100kb';
  if (!/^\d+(b|kb|mb)$/i.test(bodyLimit)) throw new ConfigError('TENANTRY_BODY_LIMIT must look like 100kb or 1mb');
  const encryptionKey = optional(env, 'TENANTRY_ENCRYPTION_KEY');
  if (encryptionKey !== undefined) {
    try {
      UrlCipher.parse(encryptionKey);
    } catch {
      throw new ConfigError('TENANTRY_ENCRYPTION_KEY must be 32 bytes: 64 hex digits (`openssl rand -hex 32`) or base64');
    }
  }
  const logLevel = optional(env, 'LOG_LEVEL') ?? 'info';
  if (!LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  const poolMax = integer(env, 'TENANTRY_POOL_MAX', 10, 1, 1000);
  return Object.freeze({
    port: integer(env, 'PORT', 3000, 0, 65_535),
    host: optional(env, 'HOST'),
    databaseUrl,
    dataDir: resolve(optional(env, 'TENANTRY_DATA_DIR') ?? '.tenantry'),
    adminToken,
    resetAdminToken: env['TENANTRY_RESET_ADMIN_TOKEN'] === '1',
    jwtSecret,
    tokenTtlSeconds: integer(env, 'TENANTRY_TOKEN_TTL', 3600, 60, 30 * 24 * 3600),
    baseDomain,
    bodyLimit,
    logLevel,
    poolMax,
    poolIdleMs: integer(env, 'TENANTRY_POOL_IDLE_MS', 30_000, 1_000, 24 * 3600 * 1000),
    poolShareHeadroom: integer(env, 'TENANTRY_POOL_SHARE_HEADROOM', poolMax > 1 ? 1 : 0, 0, poolMax - 1),
    encryptionKey,
    plans: plansFrom(env),
    pendingTenants: {
      schema: integer(env, 'TENANTRY_PENDING_SCHEMA_TENANTS', 2, 0, 100),
      database: integer(env, 'TENANTRY_PENDING_DATABASE_TENANTS', 0, 0, 100),
    },
  });
}
