import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { inTransaction } from '@tenantry/core';

/** Advisory lock key of this app's schema migrations ("tnt-api" in ASCII). */
const LOCK_KEY = '8389736474527872641';

/** The app's own schema in the registry database: settings and secrets it generates. */
export const APP_SCHEMA = 'tenantry_api';

const MIGRATIONS: readonly string[] = [
  `create table ${APP_SCHEMA}.settings (
     key        text primary key,
     value      text not null,
     created_at timestamptz not null default now()
   )`,
];

/** sha256 of a token, hex. Admin tokens are long random strings, so a fast hash is enough. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The service's own tables, in schema `tenantry_api` of the registry database (the registry
 * itself is Tenantry's, in schema `tenantry`).
 */
export class ApiStore {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects and brings the app schema up to date (safe with several processes starting). */
  static async open(registryUrl: string): Promise<ApiStore> {
    const pool = new pg.Pool({ connectionString: registryUrl, max: 2, application_name: 'tenantry-api', idleTimeoutMillis: 10_000 });
    pool.on('error', () => undefined);
    try {
      await inTransaction(
        () => pool.connect(),
        async (client) => {
          await client.query('select pg_advisory_xact_lock($1::bigint)', [LOCK_KEY]);
          await client.query(`create schema if not exists ${APP_SCHEMA}`);
          await client.query(
            `create table if not exists ${APP_SCHEMA}.schema_version (version integer primary key, applied_at timestamptz not null default now())`,
          );
          const { rows } = await client.query<{ v: number | null }>(`select max(version) as v from ${APP_SCHEMA}.schema_version`);
          const current = rows[0]?.v ?? 0;
          for (let v = current + 1; v <= MIGRATIONS.length; v++) {
            await client.query(MIGRATIONS[v - 1]!);
            await client.query(`insert into ${APP_SCHEMA}.schema_version (version) values ($1)`, [v]);
          }
        },
      );
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new ApiStore(pool);
  }

  /** A setting's value, or undefined. */
  async setting(key: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ value: string }>(`select value from ${APP_SCHEMA}.settings where key = $1`, [key]);
    return rows[0]?.value;
  }

  /**
   * Stores `value` unless the key already has one (another process may have won the race);
   * returns the value in force.
   */
  async settingOnce(key: string, value: string): Promise<{ value: string; created: boolean }> {
    const { rows } = await this.#pool.query<{ value: string }>(
      `insert into ${APP_SCHEMA}.settings (key, value) values ($1, $2) on conflict (key) do nothing returning value`,
      [key, value],
    );
    if (rows[0]) return { value: rows[0].value, created: true };
    return { value: (await this.setting(key))!, created: false };
  }

  async deleteSetting(key: string): Promise<void> {
    await this.#pool.query(`delete from ${APP_SCHEMA}.settings where key = $1`, [key]);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** A new random secret, base64url. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
