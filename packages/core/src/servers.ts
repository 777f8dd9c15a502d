import pg from 'pg';
import { asServerError, ErrorCodes, invalidArgument, serverUnavailable, TenantryError } from './errors.js';
import { performance } from 'node:perf_hooks';
import type { AdminPool, ServerTarget } from './connection-router.js';
import type { TenancyInternals } from './internals.js';
import type { ServerRow } from './registry/server-registry.js';
import { inTransaction } from './transaction.js';
import { redactUrl, UrlCipher } from './url-cipher.js';

/** What `servers.add()` takes. */
export interface AddServerInput {
  /** 1–63 lowercase letters, digits and hyphens, starting with a letter, e.g. `eu-2`. */
  readonly id: string;
  /** `postgres://user:password@host:port/database` — the database schema tenants live in. Stored encrypted. */
  readonly url: string;
  /** Most live tenants placed on it; unlimited when omitted. */
  readonly capacity?: number | null;
  /** A read replica, used by `withTenant(…, { readOnly: true })`. Stored encrypted. */
  readonly replicaUrl?: string | null;
}

/** What `servers.update()` changes: only the fields given. */
export interface UpdateServerInput {
  /** Most live tenants placed on it; null: unlimited. Lowering it below its tenants only stops new placements. */
  readonly capacity?: number | null;
  /** A read replica; null removes it. Checked like `add()`, stored encrypted. */
  readonly replicaUrl?: string | null;
  /** A new URL of the same server (new password, host or port). Checked like `add()`, stored encrypted. Not for `default`. */
  readonly url?: string;
}

/** A server as `servers.list()` shows it: no passwords. */
export interface ServerInfo {
  readonly id: string;
  /** `user@host:port/database`. */
  readonly host: string;
  readonly replicaHost: string | null;
  readonly capacity: number | null;
  readonly draining: boolean;
  /** Live tenants placed on it. */
  readonly tenants: number;
  readonly createdAt: Date;
}

const SERVER_ID = /^[a-z][a-z0-9-]{0,62}$/;

function checkUrl(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^postgres(ql)?:\/\/[^/]+/.test(value)) {
    throw invalidArgument(`${field} must be a postgres:// URL, e.g. postgres://user:password@db2:5432/app`);
  }
  try {
    new URL(value);
  } catch {
    throw invalidArgument(`${field} is not a valid URL`);
  }
  return value;
}

async function probe(id: string, url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: 'tenantry:probe' });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw serverUnavailable(id, err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The fleet of PostgreSQL servers tenants are placed on. The registry's own server is
 * `default`. Connection URLs are stored encrypted (AES-256-GCM).
 *
 * @example
 * ```ts
 * await tenancy.servers.add({ id: 'eu-2', url: 'postgres://app:secret@db2:5432/app', capacity: 500 });
 * await tenancy.tenants.create({ slug: 'acme', name: 'Acme', isolation: 'database', server: 'eu-2' });
 * ```
 */
export class Servers {
  readonly #d: TenancyInternals;
  readonly #registryUrl: string;
  #key: UrlCipher | undefined;

  /** @internal created by `createTenancy()`. */
  constructor(deps: TenancyInternals, registryUrl: string, cipher: UrlCipher | undefined) {
    this.#d = deps;
    this.#registryUrl = registryUrl;
    this.#key = cipher;
    deps.serverRegistry.placeOnly((row) => this.#placeable(row));
  }

  /**
   * Whether this process can place a new tenant on a server: it holds the key its URLs were
   * encrypted with (else the tenant would fail with ENCRYPTION_KEY_MISMATCH), and its pool has
   * not just found it down.
   */
  #placeable(row: ServerRow): boolean {
    const keyId = this.#key?.keyId;
    const readable = (stored: string | null): boolean => stored === null || stored.split(':')[1] === keyId;
    if (!readable(row.url) || !readable(row.replicaUrl)) {
      this.#d.logger.warn(
        { server: row.id },
        'a server was skipped for placement: its URL was encrypted with another key than this process holds (ENCRYPTION_KEY_MISMATCH)',
      );
      return false;
    }
    const stats = this.#d.router.stats().find((s) => s.server === row.id);
    if (stats && !stats.available) {
      this.#d.logger.warn({ server: row.id }, 'a server was skipped for placement: it cannot be reached now (SERVER_UNAVAILABLE)');
      return false;
    }
    return true;
  }

  /** Registers a server after checking that it accepts connections. Throws `SERVER_EXISTS`, `SERVER_UNAVAILABLE`, `ENCRYPTION_KEY_REQUIRED`. */
  async add(input: AddServerInput): Promise<ServerInfo> {
    if (input === null || typeof input !== 'object') throw invalidArgument('servers.add() takes { id, url, capacity?, replicaUrl? }');
    if (typeof input.id !== 'string' || !SERVER_ID.test(input.id)) {
      throw new TenantryError(
        ErrorCodes.INVALID_ARGUMENT,
        'server id must be 1–63 lowercase letters, digits and hyphens, starting with a letter (e.g. eu-2)',
      );
    }
    const url = checkUrl(input.url, 'url');
    const replicaUrl = input.replicaUrl === undefined || input.replicaUrl === null ? null : checkUrl(input.replicaUrl, 'replicaUrl');
    const capacity = input.capacity ?? null;
    if (capacity !== null && (!Number.isInteger(capacity) || capacity < 0))
      throw invalidArgument('capacity must be a non-negative integer');
    const cipher = this.#cipher();
    await probe(input.id, url);
    if (replicaUrl) await probe(`${input.id}:replica`, replicaUrl);
    await this.#d.serverRegistry.insert({
      id: input.id,
      url: cipher.encrypt(url),
      replicaUrl: replicaUrl ? cipher.encrypt(replicaUrl) : null,
      capacity,
    });
    this.#d.logger.info({ server: input.id, host: redactUrl(url) }, 'server added');
    return await this.get(input.id);
  }

  async get(id: string): Promise<ServerInfo> {
    const row = await this.#d.serverRegistry.get(id);
    if (!row)
      throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${id}'; list them with tenancy.servers.list()`, {
        context: { server: id },
      });
    return this.#info(row);
  }

  async list(): Promise<ServerInfo[]> {
    return (await this.#d.serverRegistry.list()).map((r) => this.#info(r));
  }

  /**
   * Changes a server's capacity, replica or URL. A new URL (or replica URL) is checked like
   * `add()` and stored encrypted; this process's pools reconnect with it (other processes read
   * it when they next open the server: restart them after a password change). Throws
   * `SERVER_NOT_FOUND`, `SERVER_UNAVAILABLE`, `INVALID_ARGUMENT`, `ENCRYPTION_KEY_REQUIRED`.
   *
   * @example
   * ```ts
   * await tenancy.servers.update('eu-2', { capacity: 800, replicaUrl: 'postgres://app:secret@db2-ro:5432/app' });
   * ```
   */
  async update(id: string, patch: UpdateServerInput): Promise<ServerInfo> {
    if (patch === null || typeof patch !== 'object') throw invalidArgument('servers.update() takes { capacity?, replicaUrl?, url? }');
    const current = await this.get(id);
    const change: { url?: string; replicaUrl?: string | null; capacity?: number | null } = {};
    if (patch.capacity !== undefined) {
      if (patch.capacity !== null && (!Number.isInteger(patch.capacity) || patch.capacity < 0))
        throw invalidArgument('capacity must be a non-negative integer or null');
      change.capacity = patch.capacity;
    }
    const url = patch.url === undefined ? undefined : checkUrl(patch.url, 'url');
    if (url !== undefined && id === 'default')
      throw invalidArgument("the 'default' server is the registry's own: its URL is the registry URL this process was started with");
    const replicaUrl =
      patch.replicaUrl === undefined || patch.replicaUrl === null ? patch.replicaUrl : checkUrl(patch.replicaUrl, 'replicaUrl');
    if (url !== undefined) {
      await probe(id, url);
      change.url = this.#cipher().encrypt(url);
    }
    if (replicaUrl !== undefined) {
      if (replicaUrl !== null) await probe(`${id}:replica`, replicaUrl);
      change.replicaUrl = replicaUrl === null ? null : this.#cipher().encrypt(replicaUrl);
    }
    if (Object.keys(change).length === 0) return current;
    if (!(await this.#d.serverRegistry.update(id, change)))
      throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${id}'`, { context: { server: id } });
    if (change.url !== undefined || change.replicaUrl !== undefined) this.#d.router.forgetServer(id);
    // The registry's own server keeps its pools: only its replica changes.
    if (id === 'default' && replicaUrl !== undefined) this.#d.router.setReplica(id, replicaUrl);
    this.#d.logger.info({ server: id, changed: Object.keys(change) }, 'server updated');
    return await this.get(id);
  }

  /**
   * Unregisters a server. Refused with `SERVER_IN_USE` while tenants live there (delete or move
   * them first) and, without `force`, while the registry keeps deleted tenants placed there:
   * `{ force: true }` deletes those records (and their activity) with it. Never touches the
   * server itself. Throws `SERVER_NOT_FOUND`; `INVALID_ARGUMENT` for `default`.
   */
  async remove(id: string, options: { readonly force?: boolean } = {}): Promise<void> {
    if (id === 'default') throw invalidArgument("the 'default' server holds the registry: it cannot be removed");
    const removed = await inTransaction(
      () => this.#d.registryDb.connect(),
      (client) => this.#d.serverRegistry.remove(client, id, options.force === true),
    );
    if (!removed) throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${id}'`, { context: { server: id } });
    this.#d.router.forgetServer(id);
    this.#d.logger.info({ server: id }, 'server removed');
  }

  /** Stops placing new tenants on a server (its tenants keep working). */
  async drain(id: string): Promise<ServerInfo> {
    if (!(await this.#d.serverRegistry.setDraining(id, true)))
      throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${id}'`, { context: { server: id } });
    return await this.get(id);
  }

  /** Lets a drained server take new tenants again. */
  async undrain(id: string): Promise<ServerInfo> {
    if (!(await this.#d.serverRegistry.setDraining(id, false)))
      throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${id}'`, { context: { server: id } });
    return await this.get(id);
  }

  /**
   * Checks that a server answers (`select 1` through its pool, opening one if needed) and
   * returns the round trip in milliseconds. Throws `SERVER_NOT_FOUND`, `SERVER_UNAVAILABLE`
   * or `CONNECTION_BUDGET_EXHAUSTED`.
   */
  async ping(id: string): Promise<number> {
    const started = performance.now();
    let admin: AdminPool;
    try {
      admin = await this.#d.router.admin(id);
    } catch (err) {
      if (err instanceof TenantryError && err.code === ErrorCodes.SERVER_UNAVAILABLE && /unknown server/.test(err.message)) {
        throw new TenantryError(ErrorCodes.SERVER_NOT_FOUND, `no server '${id}'`, { cause: err, context: { server: id } });
      }
      throw err;
    }
    try {
      await admin.query('select 1');
    } catch (err) {
      throw asServerError(id, err);
    }
    return performance.now() - started;
  }

  /** Decrypted connection details, for the router. @internal */
  async target(id: string): Promise<ServerTarget | undefined> {
    const row = await this.#d.serverRegistry.get(id);
    if (!row) return undefined;
    if (row.url === null)
      return { id, url: this.#registryUrl, replicaUrl: row.replicaUrl === null ? null : this.#cipher().decrypt(row.replicaUrl) };
    const cipher = this.#cipher();
    return { id, url: cipher.decrypt(row.url), replicaUrl: row.replicaUrl === null ? null : cipher.decrypt(row.replicaUrl) };
  }

  #info(row: ServerRow): ServerInfo {
    const reveal = (stored: string | null): string | null => {
      if (stored === null) return null;
      try {
        return redactUrl(this.#cipher().decrypt(stored));
      } catch {
        return '(encrypted)';
      }
    };
    return Object.freeze({
      id: row.id,
      host: row.url === null ? redactUrl(this.#registryUrl) : (reveal(row.url) ?? ''),
      replicaHost: reveal(row.replicaUrl),
      capacity: row.capacity,
      draining: row.draining,
      tenants: row.tenants,
      createdAt: row.createdAt,
    });
  }

  /**
   * Re-encrypts every stored server URL (and strict tenants' login passwords) with `newKey` (64 hex digits or base64 of 32 bytes), in
   * one transaction, and uses it from now on. Restart other processes with the new key.
   * @returns how many URLs were re-encrypted.
   */
  async rotateEncryptionKey(newKey: string): Promise<number> {
    const next = UrlCipher.parse(newKey);
    const current = this.#key;
    const count = await inTransaction(
      () => this.#d.registryDb.connect(),
      async (client) => {
        let n = 0;
        const reencrypt = (stored: string | null): string | null => {
          if (stored === null) return null;
          n++;
          if (stored.split(':')[1] === next.keyId) return stored;
          if (!current) throw new TenantryError(ErrorCodes.ENCRYPTION_KEY_REQUIRED, 'the current encryption key is needed to rotate it');
          return next.encrypt(current.decrypt(stored));
        };
        for (const r of await this.#d.serverRegistry.storedUrls(client)) {
          await this.#d.serverRegistry.setUrls(client, r.id, reencrypt(r.url), reencrypt(r.replicaUrl));
        }
        // Strict tenants' login passwords are under the same key.
        for (const r of await this.#d.registry.loginSecrets(client)) {
          await this.#d.registry.setLoginSecret(r.id, reencrypt(r.secret)!, client);
        }
        return n;
      },
    );
    this.#key = next;
    this.#d.logger.info({ urls: count, keyId: next.keyId }, 'server URLs re-encrypted with a new key');
    return count;
  }

  /** Encrypts a secret (a strict tenant's password) with the current key. @internal */
  encryptSecret(plain: string): string {
    return this.#cipher().encrypt(plain);
  }

  /** Decrypts a secret stored by {@link Servers.encryptSecret}. @internal */
  decryptSecret(stored: string): string {
    return this.#cipher().decrypt(stored);
  }

  #cipher(): UrlCipher {
    const cipher = this.#key;
    if (!cipher) {
      throw new TenantryError(
        ErrorCodes.ENCRYPTION_KEY_REQUIRED,
        'server URLs are stored encrypted: set TENANTRY_ENCRYPTION_KEY (or the encryptionKey option) to 32 random bytes, e.g. `openssl rand -hex 32`',
      );
    }
    return cipher;
  }
}
