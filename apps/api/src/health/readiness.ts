import { performance } from 'node:perf_hooks';
import { isTenantryError, type ServerStats, type Tenancy } from '@tenantry/core';
import type { Logger } from 'pino';

/** One dependency's state. */
export interface CheckResult {
  readonly status: 'ok' | 'down';
  readonly latencyMs?: number;
  /** A code, never a message: the route is public and messages name hosts. */
  readonly error?: string;
  /** Every connection is in use and callers wait: the server works, so it is not probed. */
  readonly busy?: boolean;
  /**
   * On a `down` server: no live tenant is placed on it, so it does not make the service
   * degraded (a server just added with a key this process lacks, or one being retired).
   */
  readonly unused?: true;
}

/** The answer of `GET /ready`. */
export interface ReadinessReport {
  /**
   * `ok`: all good. `degraded`: the registry answers, some server that live tenants are placed on
   * does not. `down`: the registry does not answer.
   */
  readonly status: 'ok' | 'degraded' | 'down';
  readonly checks: {
    readonly registry: CheckResult;
    readonly servers: Readonly<Record<string, CheckResult>>;
  };
}

export interface ReadinessOptions {
  /** A check that takes longer is `down` with `TIMEOUT`. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Answers are reused this long, and concurrent callers share one run: probes cannot load the databases. Default 1000 ms. */
  readonly cacheMs?: number;
}

const REGISTRY_SERVER = 'default';

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function errorCode(err: unknown): string {
  if (err instanceof TimeoutError) return 'TIMEOUT';
  if (isTenantryError(err)) return err.code;
  return 'UNREACHABLE';
}

/**
 * Readiness of the service: the registry answers `select 1` (`tenancy.ping()`), and so does every
 * server this process has a pool to — through that pool, so a check costs one round trip on a
 * connection that is usually idle. A server whose pool is in its retry window after failed
 * connects (`stats().servers[].available` false) is down without a probe; read replicas are
 * judged by that flag alone.
 */
export class ReadinessProbe {
  readonly #tenancy: Tenancy;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  #last: { readonly report: ReadinessReport; readonly at: number } | undefined;
  #running: Promise<ReadinessReport> | undefined;
  /** Last state of each check, to log changes only (not every probe). */
  readonly #states = new Map<string, string>();

  constructor(tenancy: Tenancy, logger: Logger, options: ReadinessOptions = {}) {
    this.#tenancy = tenancy;
    this.#logger = logger;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#cacheMs = options.cacheMs ?? 1_000;
  }

  async check(): Promise<ReadinessReport> {
    if (this.#last !== undefined && performance.now() - this.#last.at < this.#cacheMs) return this.#last.report;
    this.#running ??= this.#run()
      .then((report) => {
        this.#last = { report, at: performance.now() };
        return report;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return await this.#running;
  }

  async #run(): Promise<ReadinessReport> {
    let registry = await this.#probe('registry', () => this.#tenancy.ping());
    /** Live tenants per server id, from the registry. */
    const tenantsOn = new Map<string, number>();
    if (registry.status === 'ok') {
      try {
        for (const s of await this.#within(this.#tenancy.servers.list())) tenantsOn.set(s.id, s.tenants);
      } catch (err) {
        registry = this.#down('registry', err);
      }
    }
    const pools = new Map<string, ServerStats>(this.#tenancy.stats().servers.map((s) => [s.server, s]));
    const ids = [...new Set([...tenantsOn.keys(), ...pools.keys()])].sort();
    const results = await Promise.all(
      ids.map(async (id): Promise<[string, CheckResult]> => {
        const result = await this.#server(id, pools.get(id), registry);
        // A replica counts for its primary's tenants; a server the registry no longer lists, as used.
        const unused = result.status === 'down' && tenantsOn.get(id.replace(/:replica$/, '')) === 0;
        return [id, unused ? { ...result, unused: true } : result];
      }),
    );
    const servers = Object.fromEntries(results);
    const status =
      registry.status !== 'ok' ? 'down' : results.some(([, r]) => r.status === 'down' && r.unused !== true) ? 'degraded' : 'ok';
    return { status, checks: { registry, servers } };
  }

  async #server(id: string, pool: ServerStats | undefined, registry: CheckResult): Promise<CheckResult> {
    // The registry's own server answered the registry check just now.
    if (id === REGISTRY_SERVER) return registry;
    // A server no tenant has used since start: open its pool and ask it.
    if (pool === undefined) return await this.#probe(`server ${id}`, () => this.#tenancy.servers.ping(id));
    if (!pool.available) return this.#down(`server ${id}`, 'SERVER_UNAVAILABLE');
    if (id.endsWith(':replica')) return this.#ok(`server ${id}`, {});
    if (pool.waiting > 0 && pool.inUse >= pool.max) return this.#ok(`server ${id}`, { busy: true });
    return await this.#probe(`server ${id}`, () => this.#tenancy.adminPool(id).query('select 1'));
  }

  async #probe(name: string, fn: () => Promise<unknown>): Promise<CheckResult> {
    const started = performance.now();
    try {
      await this.#within(fn());
    } catch (err) {
      return this.#down(name, err);
    }
    return this.#ok(name, { latencyMs: Math.round((performance.now() - started) * 10) / 10 });
  }

  #ok(name: string, extra: Omit<CheckResult, 'status'>): CheckResult {
    if (this.#states.get(name) !== 'ok') {
      if (this.#states.has(name)) this.#logger.info({ check: name }, 'readiness check ok again');
      this.#states.set(name, 'ok');
    }
    return { status: 'ok', ...extra };
  }

  #down(name: string, err: unknown): CheckResult {
    const error = typeof err === 'string' ? err : errorCode(err);
    if (this.#states.get(name) !== error) {
      this.#logger.warn({ check: name, error, ...(typeof err === 'string' ? {} : { err }) }, 'readiness check failing');
      this.#states.set(name, error);
    }
    return { status: 'down', error };
  }

  #within<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    promise.catch(() => undefined);
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}
