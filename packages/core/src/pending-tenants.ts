/**
 * The pending-tenant pool: tenants provisioned ahead of demand, per server and isolation, so that
 * a signup gets a ready tenant in one registry statement instead of a `CREATE SCHEMA` (or
 * `CREATE DATABASE`), a role and every migration.
 *
 * A pending tenant is an ordinary tenant row of kind `pending`: it is migrated with the tenants
 * (so it is ready at the latest version), reconciled like them when a refill was cut short, and
 * never listed, counted, resolved or routed. `tenants.create()` claims the oldest ready one of its
 * isolation (on the server asked for, else on any server that is not draining) by giving it the
 * slug, name, plan and metadata — one `UPDATE … FOR UPDATE SKIP LOCKED`. A claim that finds none
 * falls back to provisioning as usual. Refills run in the background, one tenant at a time per
 * process, after each claim and every `refillIntervalMs`; the count is taken under a lock, so
 * processes refilling at once never exceed `size`. A pool whose size was lowered is trimmed.
 */
import type { Logger } from './logger.js';
import type { TenantRegistry } from './registry/tenant-registry.js';
import type { ServerRegistry } from './registry/server-registry.js';
import type { IsolationKind, Tenant } from './types.js';
import { invalidArgument } from './errors.js';

/** Options of the pending-tenant pool (`pendingTenants` in `createTenancy()`). */
export interface PendingTenantsOptions {
  /** Pending schema tenants kept per server. Default 0. */
  readonly schema?: number;
  /** Pending database tenants kept per server. Default 0. */
  readonly database?: number;
  /** How often the pool is checked (other processes' claims, migrations, servers added). Default 30 000 ms. */
  readonly refillIntervalMs?: number;
}

/** What the pool holds and has done, for `/admin/stats` and metrics. */
export interface PendingPoolStats {
  /** The configured size per server and isolation. */
  readonly size: Readonly<Record<IsolationKind, number>>;
  /** Per server and isolation: ready (ACTIVE, claimable) and total (with those being provisioned or migrated). */
  readonly servers: readonly {
    readonly server: string;
    readonly isolation: IsolationKind;
    readonly ready: number;
    readonly total: number;
  }[];
  /** Creates served from the pool by this process. */
  readonly claims: number;
  /** Creates that found no ready pending tenant and provisioned as usual. */
  readonly misses: number;
  /** Pending tenants this process provisioned. */
  readonly provisioned: number;
  /** Refills that failed (the pool is retried at the next interval). */
  readonly failures: number;
}

/** What the pool needs from the tenants API (tenants.ts). */
export interface PendingProvisioner {
  provisionPending(server: string, isolation: IsolationKind, size: number): Promise<Tenant | undefined>;
  discardPending(tenant: Tenant): Promise<void>;
}

const MAX_SIZE = 1000;

function checkSize(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SIZE)
    throw invalidArgument(`pendingTenants.${name} must be an integer from 0 to ${MAX_SIZE}`);
  return value;
}

/** The pending-tenant pool of one Tenancy. @internal created by `createTenancy()`. */
export class PendingTenantPool {
  readonly size: Readonly<Record<IsolationKind, number>>;
  readonly #intervalMs: number;
  readonly #registry: TenantRegistry;
  readonly #servers: ServerRegistry;
  readonly #logger: Logger;
  #provisioner: PendingProvisioner | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #claims = 0;
  #misses = 0;
  #provisioned = 0;
  #failures = 0;

  constructor(options: PendingTenantsOptions, registry: TenantRegistry, servers: ServerRegistry, logger: Logger) {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('pendingTenants must be { schema?, database?, refillIntervalMs? }');
    this.size = Object.freeze({ schema: checkSize(options.schema, 'schema'), database: checkSize(options.database, 'database') });
    const interval = options.refillIntervalMs ?? 30_000;
    if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 100)
      throw invalidArgument('pendingTenants.refillIntervalMs must be an integer of at least 100');
    this.#intervalMs = interval;
    this.#registry = registry;
    this.#servers = servers;
    this.#logger = logger;
  }

  /** Whether a create may be served from the pool: its isolation is pooled, and nothing in it needs a tenant of its own. */
  serves(input: { readonly isolation: IsolationKind; readonly strict?: boolean; readonly physicalName?: string }): boolean {
    return this.size[input.isolation] > 0 && input.strict !== true && input.physicalName === undefined;
  }

  /** Counts a claim (or a miss) and starts a refill. */
  claimed(_isolation: IsolationKind, tenant: Tenant | undefined): void {
    if (tenant === undefined) this.#misses++;
    else this.#claims++;
    this.refill();
  }

  /** Starts refilling in the background (and every interval) with `provisioner`. */
  start(provisioner: PendingProvisioner): void {
    this.#provisioner = provisioner;
    this.refill();
    this.#timer = setInterval(() => this.refill(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Brings every pool to its size (in the background; a refill already running runs once more). */
  refill(): void {
    if (this.#closed || this.#provisioner === undefined) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#refillAll()
      .catch((err: unknown) => {
        this.#failures++;
        this.#logger.warn({ err }, 'the pending-tenant pool could not be refilled; retried at the next interval');
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#closed) {
          this.#again = false;
          this.refill();
        }
      });
  }

  /** Resolves when no refill is running (tests, `close()`). */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #refillAll(): Promise<void> {
    const provisioner = this.#provisioner!;
    const servers = await this.#servers.placeable();
    for (const isolation of ['schema', 'database'] as const) {
      const size = this.size[isolation];
      for (const server of servers) {
        // One at a time: a refill never takes more than one connection from the server's budget.
        while (!this.#closed) {
          const made = await provisioner.provisionPending(server.id, isolation, size);
          if (made === undefined) break;
          this.#provisioned++;
        }
        if (this.#closed) return;
        // A pool whose size was lowered (or a server's, after processes with a larger size left).
        const held = await this.#registry.pendingOf(server.id, isolation);
        for (const surplus of held.slice(0, Math.max(0, held.length - size))) await provisioner.discardPending(surplus);
      }
    }
  }

  async stats(): Promise<PendingPoolStats> {
    return {
      size: this.size,
      servers: await this.#registry.pendingCounts(),
      claims: this.#claims,
      misses: this.#misses,
      provisioned: this.#provisioned,
      failures: this.#failures,
    };
  }

  /** Stops refilling; waits for the tenant being provisioned. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.settled();
  }
}
