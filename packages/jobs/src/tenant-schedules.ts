/**
 * Per-tenant schedules: "every N minutes, for every ACTIVE tenant, run X". One fan-out per slot
 * across all processes: a process claims the slot by moving the schedule's `last_fanout_at`
 * forward in one UPDATE (the row lock makes it single-winner), then runs X in each ACTIVE tenant
 * — inside `tenancy.run()` of that tenant — `concurrency` at a time, each start delayed by a
 * random jitter. After downtime the schedule runs once at start (not once per missed slot).
 * State lives in the registry database, schema `tenantry_jobs`: the schedule's last fan-out and
 * each tenant's last run, status and error.
 */
import { performance } from 'node:perf_hooks';
import {
  ErrorCodes,
  invalidArgument,
  isTenantryError,
  quoteIdent,
  TenantryError,
  type AdminPool,
  type Logger,
  type Tenancy,
  type Tenant,
} from '@tenantry/core';
import { outsideTenant } from './tenant-gate.js';

/** A per-tenant schedule. */
export interface TenantScheduleDefinition<T> {
  /** Unique name; the key of its persisted state. */
  readonly name: string;
  /** Milliseconds between fan-outs, at least 1000 (e.g. `5 * 60_000` for every 5 minutes). */
  readonly intervalMs: number;
  /** Tenants run at once. Default 4. */
  readonly concurrency?: number;
  /** Each tenant's run starts after a random delay in [0, jitterMs), spreading the load. Default 0. */
  readonly jitterMs?: number;
  /** Run once at start when a slot was missed while no process ran the schedule. Default true. */
  readonly catchUp?: boolean;
  /** The work, run inside `tenancy.run()` of each ACTIVE tenant (`currentTenant()`, `withTenant(fn)`). */
  readonly run: (tenant: Tenant) => Promise<T>;
  /** Called with each fan-out's results (in this process). */
  readonly onFanOut?: (fanOut: FanOutResult<T>) => void;
}

/** How one tenant's run of a fan-out ended. */
export interface ScheduleTenantResult<T> {
  readonly tenant: { readonly id: string; readonly slug: string };
  /** `skipped`: the tenant was suspended or deleted after the fan-out listed it; it did not run. */
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly value?: T;
  readonly error?: Error;
  readonly durationMs: number;
}

/** One fan-out of a schedule. */
export interface FanOutResult<T> {
  readonly schedule: string;
  readonly startedAt: Date;
  /** `slot`: its time came; `catch-up`: a missed slot, run once at start; `manual`: `runNow()`. */
  readonly reason: 'slot' | 'catch-up' | 'manual';
  readonly results: readonly ScheduleTenantResult<T>[];
  readonly durationMs: number;
}

/** A tenant's last run of a schedule, as persisted. */
export interface ScheduleRunRecord {
  readonly tenantId: string;
  readonly lastRunAt: Date;
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly error: string | null;
}

/** Options of {@link TenantSchedules.start}. */
export interface TenantSchedulesOptions {
  /** Schema of the schedule state in the registry database. Default `tenantry_jobs`. ALWAYS use the same value. */
  readonly schema?: string;
  readonly logger?: Logger;
}

interface Entry {
  readonly def: TenantScheduleDefinition<unknown>;
  timer: NodeJS.Timeout | undefined;
  running: Promise<unknown> | undefined;
}

/**
 * Runs schedules per ACTIVE tenant.
 *
 * @example
 * ```ts
 * const schedules = await TenantSchedules.start(tenancy);
 * await schedules.add({
 *   name: 'expire-trials',
 *   intervalMs: 5 * 60_000,
 *   concurrency: 8,
 *   jitterMs: 10_000,
 *   run: () => tenancy.withTenant((db) => db.query("update trials set expired = true where ends_at < now()")),
 *   onFanOut: (f) => log.info({ failed: f.results.filter((r) => r.status === 'failed').length }, 'trials expired'),
 * });
 * ```
 */
export class TenantSchedules {
  readonly #tenancy: Tenancy;
  readonly #db: AdminPool;
  readonly #schema: string;
  readonly #logger: Logger | undefined;
  readonly #entries = new Map<string, Entry>();
  #stopped = false;

  private constructor(tenancy: Tenancy, schema: string, logger: Logger | undefined) {
    this.#tenancy = tenancy;
    this.#db = tenancy.adminPool();
    this.#schema = schema;
    this.#logger = logger;
  }

  /** Creates the state tables (idempotent, safe from several processes) and returns the scheduler. */
  static async start(tenancy: Tenancy, options: TenantSchedulesOptions = {}): Promise<TenantSchedules> {
    const s = quoteIdent(options.schema ?? 'tenantry_jobs');
    // One simple query: one transaction, serialised across processes by the advisory lock.
    await tenancy.adminPool().query(
      `select pg_advisory_xact_lock(hashtext('tenantry_jobs:schema'));
       create schema if not exists ${s};
       create table if not exists ${s}.schedules (name text primary key, last_fanout_at timestamptz);
       create table if not exists ${s}.schedule_runs (
         schedule text not null, tenant_id uuid not null, last_run_at timestamptz not null,
         status text not null, error text, primary key (schedule, tenant_id));`,
    );
    return new TenantSchedules(tenancy, s, options.logger);
  }

  /**
   * Adds a schedule and starts its timer. At start a missed slot is run once (`catchUp`); a slot
   * another process already ran is not run again.
   */
  async add<T>(def: TenantScheduleDefinition<T>): Promise<void> {
    this.#assertOpen();
    if (typeof def?.name !== 'string' || def.name === '') throw invalidArgument('a schedule needs a name');
    if (this.#entries.has(def.name)) throw invalidArgument(`schedule '${def.name}' was already added`);
    if (!Number.isFinite(def.intervalMs) || def.intervalMs < 1000) throw invalidArgument('intervalMs must be at least 1000');
    const concurrency = def.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw invalidArgument('concurrency must be a positive integer');
    const frozen = Object.freeze({ ...def }) as TenantScheduleDefinition<unknown>;
    const entry: Entry = { def: frozen, timer: undefined, running: undefined };
    this.#entries.set(def.name, entry);
    await this.#db.query(`insert into ${this.#schema}.schedules (name) values ($1) on conflict do nothing`, [def.name]);
    const { rows } = await this.#db.query<{ last: Date | null }>(
      `select last_fanout_at as last from ${this.#schema}.schedules where name = $1`,
      [def.name],
    );
    const last = rows[0]?.last ?? null;
    const missed = last !== null && Date.now() - last.getTime() >= def.intervalMs;
    if (missed && def.catchUp !== false) this.#launch(entry, 'catch-up');
    else if (missed) await this.#db.query(`update ${this.#schema}.schedules set last_fanout_at = now() where name = $1`, [def.name]);
    this.#arm(entry);
  }

  /** Runs a fan-out of `name` now, whatever its slot, and waits for its results. */
  async runNow<T = unknown>(name: string): Promise<FanOutResult<T>> {
    const entry = this.#entry(name);
    await this.#db.query(`update ${this.#schema}.schedules set last_fanout_at = now() where name = $1`, [name]);
    return (await this.#fanOut(entry, 'manual')) as FanOutResult<T>;
  }

  /**
   * Claims the current slot of `name` if it is due and runs its fan-out; undefined when it was not
   * due (or another process took it). The timer calls this; tests may too.
   */
  async tick<T = unknown>(name: string): Promise<FanOutResult<T> | undefined> {
    const entry = this.#entry(name);
    if (!(await this.#claim(entry))) return undefined;
    return (await this.#fanOut(entry, 'slot')) as FanOutResult<T>;
  }

  /** Each tenant's last run of `name` (persisted, from every process). */
  async lastRuns(name: string): Promise<ScheduleRunRecord[]> {
    const { rows } = await this.#db.query<{
      tenant_id: string;
      last_run_at: Date;
      status: ScheduleRunRecord['status'];
      error: string | null;
    }>(`select tenant_id, last_run_at, status, error from ${this.#schema}.schedule_runs where schedule = $1 order by tenant_id`, [name]);
    return rows.map((r) => ({ tenantId: r.tenant_id, lastRunAt: r.last_run_at, status: r.status, error: r.error }));
  }

  /** Stops every timer and waits for fan-outs in progress. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const e of this.#entries.values()) clearTimeout(e.timer);
    await Promise.all([...this.#entries.values()].map((e) => e.running?.catch(() => undefined)));
  }

  /** The slot is due when the last fan-out is at least an interval old; one UPDATE decides, across processes. */
  async #claim(entry: Entry): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `update ${this.#schema}.schedules set last_fanout_at = now()
        where name = $1 and (last_fanout_at is null or last_fanout_at <= now() - make_interval(secs => $2::float8 / 1000))`,
      [entry.def.name, entry.def.intervalMs - 50], // a timer firing a hair early still finds its slot due
    );
    return rowCount === 1;
  }

  #arm(entry: Entry): void {
    if (this.#stopped) return;
    // Started outside any tenant: the timer must not carry the context add() was called in.
    entry.timer = outsideTenant(() =>
      setTimeout(() => {
        if (entry.running === undefined) {
          const run = this.tick(entry.def.name).catch((err: unknown) =>
            this.#logger?.error({ err, schedule: entry.def.name }, 'schedule tick failed'),
          );
          entry.running = run.finally(() => (entry.running = undefined));
        }
        this.#arm(entry);
      }, entry.def.intervalMs),
    );
    entry.timer.unref();
  }

  #launch(entry: Entry, reason: FanOutResult<unknown>['reason']): void {
    // Claimed like a slot: of several processes starting together, one catches up.
    const run = this.#claim(entry)
      .then((claimed) => (claimed ? this.#fanOut(entry, reason) : undefined))
      .catch((err: unknown) => this.#logger?.error({ err, schedule: entry.def.name }, 'schedule catch-up failed'));
    entry.running = run.finally(() => (entry.running = undefined));
  }

  async #fanOut(entry: Entry, reason: FanOutResult<unknown>['reason']): Promise<FanOutResult<unknown>> {
    const def = entry.def;
    const startedAt = new Date();
    const t0 = performance.now();
    const tenants: Tenant[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#tenancy.tenants.list({ status: 'ACTIVE', limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      tenants.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const results: ScheduleTenantResult<unknown>[] = new Array(tenants.length);
    let next = 0;
    const worker = async () => {
      while (next < tenants.length && !this.#stopped) {
        const i = next++;
        results[i] = await this.#runOne(def, tenants[i]!);
      }
    };
    await outsideTenant(() => Promise.all(Array.from({ length: Math.min(def.concurrency ?? 4, Math.max(1, tenants.length)) }, worker)));
    const done = results.filter((r) => r !== undefined);
    await this.#record(def.name, done);
    const fanOut: FanOutResult<unknown> = {
      schedule: def.name,
      startedAt,
      reason,
      results: done,
      durationMs: Math.round(performance.now() - t0),
    };
    try {
      def.onFanOut?.(fanOut);
    } catch (err) {
      this.#logger?.error({ err, schedule: def.name }, 'onFanOut threw');
    }
    return fanOut;
  }

  async #runOne(def: TenantScheduleDefinition<unknown>, tenant: Tenant): Promise<ScheduleTenantResult<unknown>> {
    const jitter = def.jitterMs ?? 0;
    if (jitter > 0) await new Promise((r) => setTimeout(r, Math.floor(Math.random() * jitter)));
    const t0 = performance.now();
    const ref = { id: tenant.id, slug: tenant.slug };
    let started = false;
    try {
      const value = await this.#tenancy.run(tenant.id, async () => {
        started = true;
        return await def.run(tenant);
      });
      return { tenant: ref, status: 'ok', value, durationMs: Math.round(performance.now() - t0) };
    } catch (err) {
      // Listed ACTIVE, then suspended or deleted before its turn: skipped, not failed.
      const skipped = !started && isTenantryError(err) && SKIP_CODES.has(err.code);
      return { tenant: ref, status: skipped ? 'skipped' : 'failed', error: err as Error, durationMs: Math.round(performance.now() - t0) };
    }
  }

  async #record(name: string, results: readonly ScheduleTenantResult<unknown>[]): Promise<void> {
    if (results.length === 0) return;
    await this.#db.query(
      `insert into ${this.#schema}.schedule_runs (schedule, tenant_id, last_run_at, status, error)
       select $1, t.id, now(), t.status, t.error from unnest($2::uuid[], $3::text[], $4::text[]) as t(id, status, error)
       on conflict (schedule, tenant_id) do update set last_run_at = excluded.last_run_at, status = excluded.status, error = excluded.error`,
      [name, results.map((r) => r.tenant.id), results.map((r) => r.status), results.map((r) => r.error?.message ?? null)],
    );
  }

  #entry(name: string): Entry {
    this.#assertOpen();
    const entry = this.#entries.get(name);
    if (entry === undefined) throw invalidArgument(`no schedule '${name}': add it first`);
    return entry;
  }

  #assertOpen(): void {
    if (this.#stopped) throw new TenantryError(ErrorCodes.TENANCY_CLOSED, 'the schedules were stopped');
  }
}

const SKIP_CODES = new Set<string>([
  ErrorCodes.TENANT_SUSPENDED,
  ErrorCodes.TENANT_NOT_FOUND,
  ErrorCodes.TENANT_NOT_READY,
  ErrorCodes.TENANT_MIGRATION_FAILED,
]);
