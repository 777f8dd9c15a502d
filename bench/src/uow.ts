/**
 * `npm run bench:uow` — what a Tenantry unit of work costs next to raw `pg`.
 *
 * Point lookups by primary key, N concurrent callers, a pool of P server connections for every
 * variant, a random tenant per call. Variants are warmed up, then measured in alternating
 * rounds (A, B, C, …, A, B, C, …) so that drift (thermal, autovacuum, page cache) hits them
 * alike; the median round is reported. See bench/README.md for the knobs.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release as osRelease, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTenancy, migrationList, type Tenancy, type Tenant } from '@tenantry/core';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';
import { CLOCK_TICKS_PER_SECOND, readProcStat } from './bench-env.js';
import { rawBatch, type RawPrefix } from './raw-batch.js';

// ---------------------------------------------------------------------------------------------
// Configuration

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

const config = {
  tenants: Math.trunc(envNumber('BENCH_TENANTS', 1000, 1)),
  rowsPerTenant: Math.trunc(envNumber('BENCH_ROWS', 100, 1)),
  callers: Math.trunc(envNumber('BENCH_CONCURRENCY', 32, 1)),
  poolMax: Math.trunc(envNumber('BENCH_POOL', 10, 1)),
  createConcurrency: Math.trunc(envNumber('BENCH_CREATE_CONCURRENCY', 4, 1)),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 2, 0),
  rounds: Math.trunc(envNumber('BENCH_ROUNDS', 3, 1)),
  roundSeconds: envNumber('BENCH_SECONDS', 4, 0.2),
  /** Unmeasured lead-in at the start of every round, so that the window sees steady state. */
  leadInMs: Math.trunc(envNumber('BENCH_LEAD_IN_MS', 250, 0)),
  monitorIntervalMs: Math.trunc(envNumber('BENCH_MONITOR_MS', 100, 10)),
  /** Cold start: rounds of homes on / homes off, each on a fresh pool (new, cold backends); 0 skips it. */
  coldRounds: Math.trunc(envNumber('BENCH_COLD_ROUNDS', 2, 0)),
  /** How long each cold-start run lasts: the first seconds of fresh backends. */
  coldSeconds: envNumber('BENCH_COLD_SECONDS', 3, 0.2),
  goalRatio: 0.9,
};

const here = dirname(fileURLToPath(import.meta.url));
const outputEnv = process.env.BENCH_OUTPUT;
const outputPath =
  outputEnv === '-' ? undefined : resolve(outputEnv && outputEnv !== '' ? outputEnv : resolve(here, '..', 'results', 'uow.json'));
const variantFilter = (process.env.BENCH_VARIANTS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');

const QUERY = 'select id, v from items where id = $1';
const SINGLE_SCHEMA = 'bench_single';
const SLUG_PREFIX = 'bench-';
const MONITOR_APP = 'bench:monitor';

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL server CPU, from /proc (only when the server runs on this machine)

/**
 * CPU time of the postmaster and all its children (live backends and background processes,
 * plus — through the postmaster's cutime/cstime — every backend that exited and was reaped).
 * Read twice around the scan of children until no child was reaped in between, so a backend
 * that exits during the scan is counted exactly once.
 */
function pgCpuTicks(postmaster: number): number | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = readProcStat(postmaster);
    if (before === undefined) return undefined;
    let children = 0;
    for (const name of readdirSync('/proc')) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const s = readProcStat(Number(name));
      if (s !== undefined && s.ppid === postmaster) children += s.utime + s.stime;
    }
    const after = readProcStat(postmaster);
    if (after === undefined) return undefined;
    if (after.cutime === before.cutime && after.cstime === before.cstime) {
      return after.utime + after.stime + after.cutime + after.cstime + children;
    }
  }
  return undefined;
}

/** Busy and steal ticks of the whole machine, from /proc/stat (undefined where there is none). */
function machineTicks(): { busy: number; steal: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busy: user + nice + system + irq + softirq, steal };
  } catch {
    return undefined;
  }
}

async function findPostmaster(client: pg.Client): Promise<number | undefined> {
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  const backend = rows[0]?.pid;
  if (backend === undefined) return undefined;
  const stat = readProcStat(backend);
  if (stat === undefined) return undefined; // the server is not on this machine (or /proc is hidden)
  let comm: string;
  try {
    comm = readFileSync(`/proc/${stat.ppid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
  return comm.startsWith('postgres') ? stat.ppid : undefined;
}

// ---------------------------------------------------------------------------------------------
// Connection monitor: peak client backends per application_name

class ConnectionMonitor {
  readonly #client: pg.Client;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #peaks = new Map<string, number>();
  #pids = new Map<string, Set<number>>();
  #peakTotal = 0;
  #error: Error | undefined;

  constructor(client: pg.Client) {
    this.#client = client;
  }

  /** Starts a fresh window. */
  start(intervalMs: number): void {
    this.#peaks = new Map();
    this.#pids = new Map();
    this.#peakTotal = 0;
    this.#timer = setInterval(() => void this.#poll(), intervalMs);
    void this.#poll();
  }

  async stop(): Promise<{ byApp: Map<string, number>; total: number; backends: Map<string, number> }> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#busy) await sleep(5);
    if (this.#error) throw this.#error;
    const backends = new Map([...this.#pids].map(([app, pids]) => [app, pids.size]));
    return { byApp: this.#peaks, total: this.#peakTotal, backends };
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      // Our own monitoring connection and Tenantry's LISTEN connections are not counted.
      const { rows } = await this.#client.query<{ app: string; pid: number }>(
        `select application_name as app, pid
           from pg_stat_activity
          where backend_type = 'client backend' and pid <> pg_backend_pid() and application_name not like '%:listener'`,
      );
      const counts = new Map<string, number>();
      for (const r of rows) {
        counts.set(r.app, (counts.get(r.app) ?? 0) + 1);
        let pids = this.#pids.get(r.app);
        if (pids === undefined) this.#pids.set(r.app, (pids = new Set()));
        pids.add(r.pid);
      }
      for (const [app, n] of counts) if (n > (this.#peaks.get(app) ?? 0)) this.#peaks.set(app, n);
      if (rows.length > this.#peakTotal) this.#peakTotal = rows.length;
    } catch (err) {
      this.#error ??= err as Error;
    } finally {
      this.#busy = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The seeds' design (seed 000, tenancy.utils.ts): a TypeORM DataSource per tenant — a pg pool
// of MAX_CONNECTION_POOL_SIZE (10) with the tenant's schema — cached in an LRU of
// MAX_TENANT_DATA_SOURCES (90) that destroys the evicted one. Modelled with pg.Pool directly
// (a DataSource is a pg.Pool plus TypeORM), so the row shows the design's cost, not TypeORM's.

const SEEDS_LRU_MAX = 90;
const SEEDS_POOL_SIZE = 10;

class SeedsLru {
  readonly #url: string;
  readonly #max: number;
  readonly #poolSize: number;
  readonly #appName: string;
  /** Insertion order is recency order: a hit moves the entry to the end. */
  readonly #cache = new Map<string, Promise<pg.Pool>>();
  readonly #ending: Promise<void>[] = [];
  /** Calls that found their pool ended under them by an eviction and had to look it up again. */
  evictedInUse = 0;
  misses = 0;

  constructor(url: string, max: number, poolSize: number, appName: string) {
    this.#url = url;
    this.#max = max;
    this.#poolSize = poolSize;
    this.#appName = appName;
  }

  async query<R extends pg.QueryResultRow>(schema: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    for (;;) {
      const pool = await this.#get(schema);
      try {
        return await pool.query<R>(text, values);
      } catch (err) {
        // The seed's dispose destroys a DataSource other requests may still be using.
        if (!(err instanceof Error && /after calling end on the pool/.test(err.message))) throw err;
        this.evictedInUse++;
      }
    }
  }

  #get(schema: string): Promise<pg.Pool> {
    const hit = this.#cache.get(schema);
    if (hit !== undefined) {
      this.#cache.delete(schema);
      this.#cache.set(schema, hit);
      return hit;
    }
    this.misses++;
    // DataSource.initialize() connects once before the first query.
    const pool = new pg.Pool({
      connectionString: this.#url,
      max: this.#poolSize,
      application_name: this.#appName,
      options: `-c search_path=${schema}`,
    });
    pool.on('error', () => undefined);
    const ready = pool.query('select 1').then(() => pool);
    this.#cache.set(schema, ready);
    if (this.#cache.size > this.#max) {
      const [oldest, evicted] = this.#cache.entries().next().value as [string, Promise<pg.Pool>];
      this.#cache.delete(oldest);
      this.#ending.push(evicted.then((p) => p.end()).catch(() => undefined));
    }
    return ready;
  }

  async close(): Promise<void> {
    const all = [...this.#cache.values()];
    this.#cache.clear();
    await Promise.all([...this.#ending, ...all.map((p) => p.then((x) => x.end()).catch(() => undefined))]);
  }
}

// ---------------------------------------------------------------------------------------------
// Load generation

interface Variant {
  readonly key: string;
  readonly label: string;
  /** application_name of the variant's connections (for the connection peak). */
  readonly appName: string;
  /** One call: row `id` of tenant `t` (the baseline ignores `t`). */
  readonly op: (t: Target, id: number) => Promise<void>;
}

/** A tenant as the variants address it. */
interface Target {
  /** Its position in the list (the same position picks the tenant without a role). */
  readonly index: number;
  readonly id: string;
  readonly schema: string;
  readonly setLocal: string;
  readonly qualified: string;
  /** `select set_config('search_path', …, true)` for this tenant (a generated name, never input). */
  readonly route: string;
  /** The same route that also switches to the tenant's role, as Tenantry's default prefix does. */
  readonly routeWithRole: string;
  /** The same route as Tenantry's batch takes it (made once, as Tenantry caches each tenant's). */
  readonly prefix: RawPrefix;
}

/**
 * What DISCARD ALL does, as statements that may share one multi-statement string (DISCARD ALL
 * itself may not): the session reset Tenantry sends when a connection changes owner.
 */
const RESET_STATEMENTS =
  'set session authorization default; reset all; deallocate all; close all; unlisten *; select pg_advisory_unlock_all(); discard plans; discard temp; discard sequences';

interface Round {
  ops: number;
  seconds: number;
  opsPerSec: number;
  nodeCpuUs: number;
  pgCpuUs: number | undefined;
  peakConnections: number;
  peakAllConnections: number;
  /** Distinct server processes of the variant seen during the round (more than the pool: connections were replaced). */
  backendsSeen: number;
  /** CPU used by everything else on the machine during the round, in cores (needs a local server). */
  otherCores: number | undefined;
  /** CPU stolen by the hypervisor during the round, in cores. */
  stealCores: number | undefined;
}

/** What the callers pick from: a tenant uniformly at random, a row id uniformly at random. */
interface Workload {
  readonly targets: readonly Target[];
  readonly rows: number;
}

class Load {
  ops = 0;
  #running = false;
  #workers: Promise<void>[] = [];
  #error: unknown;

  constructor(
    readonly variant: Variant,
    readonly workload: Workload,
    readonly callers: number,
  ) {}

  start(): void {
    this.#running = true;
    const op = this.variant.op;
    const { targets, rows } = this.workload;
    const n = targets.length;
    for (let i = 0; i < this.callers; i++) {
      this.#workers.push(
        (async () => {
          while (this.#running) {
            await op(targets[Math.floor(Math.random() * n)]!, 1 + Math.floor(Math.random() * rows));
            this.ops++;
          }
        })().catch((err: unknown) => {
          this.#error ??= err;
          this.#running = false;
        }),
      );
    }
  }

  get failed(): unknown {
    return this.#error;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
    this.#workers = [];
    if (this.#error !== undefined) {
      const err = this.#error;
      throw new Error(`variant '${this.variant.key}' failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}

/**
 * Calls every tenant once from each of `workers` callers (each starting at a different tenant).
 * With as many callers as pooled connections, each caller mostly keeps one connection (pools
 * hand back the most recently released one), so every server process opens (nearly) every
 * tenant table — which calls at random would take ~7,000 per connection to do.
 */
async function sweep(variant: Variant, workload: Workload, workers: number): Promise<void> {
  const { targets, rows } = workload;
  const n = targets.length;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const start = Math.floor((w * n) / workers);
      for (let k = 0; k < n; k++) await variant.op(targets[(start + k) % n]!, 1 + (k % rows));
    }),
  );
}

async function runFor(variant: Variant, workload: Workload, seconds: number): Promise<void> {
  const load = new Load(variant, workload, config.callers);
  load.start();
  await sleep(seconds * 1000);
  await load.stop();
}

async function measure(
  variant: Variant,
  workload: Workload,
  monitor: ConnectionMonitor,
  postmaster: number | undefined,
  ticks: number,
): Promise<Round> {
  const load = new Load(variant, workload, config.callers);
  load.start();
  if (config.leadInMs > 0) await sleep(config.leadInMs);
  monitor.start(config.monitorIntervalMs);
  const ops0 = load.ops;
  const cpu0 = process.cpuUsage();
  const pg0 = postmaster === undefined ? undefined : pgCpuTicks(postmaster);
  const m0 = machineTicks();
  const t0 = performance.now();
  await sleep(config.roundSeconds * 1000);
  const ops1 = load.ops;
  const t1 = performance.now();
  const cpu1 = process.cpuUsage(cpu0);
  const pg1 = postmaster === undefined ? undefined : pgCpuTicks(postmaster);
  const m1 = machineTicks();
  await load.stop();
  const peaks = await monitor.stop();
  const ops = ops1 - ops0;
  const seconds = (t1 - t0) / 1000;
  const nodeTicks = ((cpu1.user + cpu1.system) / 1e6) * ticks;
  const known = m0 !== undefined && m1 !== undefined && pg0 !== undefined && pg1 !== undefined;
  const otherCores = known ? Math.max(0, m1.busy - m0.busy - nodeTicks - (pg1 - pg0)) / ticks / seconds : undefined;
  const stealCores = m0 !== undefined && m1 !== undefined ? (m1.steal - m0.steal) / ticks / seconds : undefined;
  if (ops === 0) throw new Error(`variant '${variant.key}' completed no operation in ${seconds.toFixed(1)} s`);
  return {
    ops,
    seconds,
    opsPerSec: ops / seconds,
    nodeCpuUs: (cpu1.user + cpu1.system) / ops,
    pgCpuUs: pg0 === undefined || pg1 === undefined ? undefined : ((pg1 - pg0) * 1e6) / ticks / ops,
    peakConnections: peaks.byApp.get(variant.appName) ?? 0,
    peakAllConnections: peaks.total,
    backendsSeen: peaks.backends.get(variant.appName) ?? 0,
    otherCores,
    stealCores,
  };
}

// ---------------------------------------------------------------------------------------------
// Cold start: home connections on vs off

interface ColdRun {
  readonly homeConnections: boolean;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly pgCpuUs: number | undefined;
  /** Distinct (backend, tenant) pairs: each one cost its backend a cold first statement in that tenant. */
  readonly pairs: number;
  readonly backends: number;
}

/**
 * The first `coldSeconds` of a fresh pool (new backends, nothing cached for any tenant), with
 * home connections on or off: units of work, PostgreSQL CPU per unit of work, and the distinct
 * (backend, tenant) pairs — each is a backend's first, cold, statement in a tenant's tables.
 */
async function coldRun(
  homeConnections: boolean,
  open: (homeConnections: boolean) => Promise<Tenancy>,
  targets: readonly Target[],
  postmaster: number | undefined,
  ticks: number,
): Promise<ColdRun> {
  const tenancy = await open(homeConnections);
  try {
    // Registry rows cached first (a lookup would take a connection of the same budget); this
    // opens one connection, which touches no tenant's tables.
    for (const t of targets) await tenancy.resolve(t.id);
    const pairs = new Set<string>();
    const pids = new Set<number>();
    const n = targets.length;
    let running = true;
    let ops = 0;
    const pg0 = postmaster === undefined ? undefined : pgCpuTicks(postmaster);
    const t0 = performance.now();
    const workers = Array.from({ length: config.callers }, async () => {
      while (running) {
        const t = targets[Math.floor(Math.random() * n)]!;
        const id = 1 + Math.floor(Math.random() * config.rowsPerTenant);
        const r = await tenancy.withTenant(t.id, (db) =>
          db.query<Row & { pid: number }>('select id, v, pg_backend_pid() as pid from items where id = $1', [id]),
        );
        check(r.rows, t.schema, id);
        pids.add(r.rows[0]!.pid);
        pairs.add(`${r.rows[0]!.pid}/${t.id}`);
        ops++;
      }
    });
    await sleep(config.coldSeconds * 1000);
    running = false;
    await Promise.all(workers);
    const seconds = (performance.now() - t0) / 1000;
    const pg1 = postmaster === undefined ? undefined : pgCpuTicks(postmaster);
    return {
      homeConnections,
      ops,
      opsPerSec: ops / seconds,
      pgCpuUs: pg0 === undefined || pg1 === undefined ? undefined : ((pg1 - pg0) * 1e6) / ticks / ops,
      pairs: pairs.size,
      backends: pids.size,
    };
  } finally {
    await tenancy.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Setup

async function provisionTenants(tenancy: Tenancy, prefix = SLUG_PREFIX): Promise<Tenant[]> {
  const existing = new Map<string, Tenant>();
  let page = await tenancy.tenants.list({ limit: 1000, status: 'ACTIVE' });
  for (;;) {
    for (const t of page.items) if (t.slug.startsWith(prefix)) existing.set(t.slug, t);
    if (page.nextCursor === null) break;
    page = await tenancy.tenants.list({ limit: 1000, status: 'ACTIVE', cursor: page.nextCursor });
  }
  const slugs = Array.from({ length: config.tenants }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}`);
  const missing = slugs.filter((s) => !existing.has(s));
  const started = performance.now();
  let next = 0;
  let done = 0;
  const step = Math.max(1, Math.ceil(missing.length / 10));
  await Promise.all(
    Array.from({ length: Math.min(config.createConcurrency, missing.length) }, async () => {
      while (next < missing.length) {
        const slug = missing[next++]!;
        const t = await tenancy.tenants.create({ slug, name: `Bench ${slug}` });
        existing.set(slug, t);
        done++;
        if (done % step === 0 || done === missing.length) {
          const s = (performance.now() - started) / 1000;
          log(`  created ${done}/${missing.length} tenants (${s.toFixed(1)} s, ${((s * 1000) / done).toFixed(1)} ms/tenant wall)`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (missing.length < slugs.length) log(`  reused ${slugs.length - missing.length} existing tenants`);
  log(`  tenant setup: ${missing.length} created in ${seconds.toFixed(1)} s (concurrency ${config.createConcurrency})`);
  return slugs.map((s) => existing.get(s)!);
}

function seedSql(table: string, vExpr: string): string {
  return `insert into ${table} (id, v) select g, ${vExpr} || ':' || g from generate_series(1, ${config.rowsPerTenant}) g`;
}

// ---------------------------------------------------------------------------------------------

interface Row {
  id: number;
  v: string;
}

function check(rows: readonly Row[], schema: string, id: number): void {
  const r = rows[0];
  if (r === undefined || r.id !== id || r.v !== `${schema}:${id}`) {
    throw new Error(`wrong row for id ${id} in ${schema}: ${JSON.stringify(r)}`);
  }
}

async function main(): Promise<void> {
  const began = performance.now();
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        log(`cleanup: ${(err as Error).message}`);
      }
    }
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${sig}: shutting down`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // 1. Server
    let url = process.env.TENANTRY_BENCH_DATABASE_URL;
    let server: EmbeddedServer | undefined;
    if (url === undefined || url === '') {
      const t = performance.now();
      // Room for the seeds' design, which opens a pool per cached tenant (up to 90 × 10).
      server = await startEmbeddedServer({ postgresFlags: ['-c', 'max_connections=1000'] });
      const s = server;
      cleanups.push(() => s.stop());
      url = server.url;
      log(`embedded PostgreSQL on port ${server.port} started in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    } else {
      log(`using TENANTRY_BENCH_DATABASE_URL (${new URL(url).host}${new URL(url).pathname})`);
    }

    const admin = new pg.Client({ connectionString: url, application_name: MONITOR_APP });
    await admin.connect();
    cleanups.push(() => admin.end());
    admin.on('error', (err) => log(`monitor connection error: ${err.message}`));
    const pgVersion = (await admin.query<{ v: string }>('select version() as v')).rows[0]!.v;
    const maxConnections = Number((await admin.query<{ m: string }>("select current_setting('max_connections') as m")).rows[0]!.m);

    // 2. Tenants
    const migrations = migrationList([
      {
        name: '0001_items',
        up: `create table items (id int primary key, v text not null);\n${seedSql('items', 'current_schema()')}`,
      },
    ]);
    log(`setting up ${config.tenants} tenants × ${config.rowsPerTenant} rows…`);
    const setupStarted = performance.now();
    const tenancy = await createTenancy({
      registryUrl: url,
      migrations,
      pool: { max: config.poolMax, idleTimeoutMillis: 3_600_000 },
      applicationName: 'bench:tenantry',
    });
    cleanups.push(() => tenancy.close());
    const tenants = await provisionTenants(tenancy);
    // The same tenants through a pool without home connections (pool.homeConnections: false):
    // side by side with 'tenantry', what homes change in steady state.
    const tenancyNoHomes = await createTenancy({
      registryUrl: url,
      migrations,
      pool: { max: config.poolMax, idleTimeoutMillis: 3_600_000, homeConnections: false },
      applicationName: 'bench:tenantry-nohomes',
      reconcileOnStart: false,
    });
    cleanups.push(() => tenancyNoHomes.close());
    // Per-tenant roles (createTenancy's `tenantRoles`, on by default when allowed): every
    // Tenantry call then also switches to the tenant's role. Read defensively: not every
    // version of the Tenant type has the field.
    const roles = tenants.map((t) => (t as { role?: unknown }).role);
    const tenantRoles = roles.every((r) => r === undefined) ? null : roles.every((r) => typeof r === 'string');
    if (tenantRoles !== null)
      log(`  per-tenant roles: ${tenantRoles ? 'on — every Tenantry call also switches to the tenant role' : 'off'}`);
    // The same tenants without per-tenant roles (tenantRoles: false): the prefix sets only
    // search_path. With the rows above it isolates what switching to the tenant's role costs.
    const tenancyNoRoles = await createTenancy({
      registryUrl: url,
      migrations,
      pool: { max: config.poolMax, idleTimeoutMillis: 3_600_000 },
      tenantRoles: false,
      applicationName: 'bench:tenantry-noroles',
    });
    cleanups.push(() => tenancyNoRoles.close());
    const noRoleTenants = await provisionTenants(tenancyNoRoles, `${SLUG_PREFIX}nr-`);

    // The baseline schema: the same table, the same rows.
    await admin.query(`drop schema if exists ${SINGLE_SCHEMA} cascade`);
    await admin.query(`create schema ${SINGLE_SCHEMA}`);
    await admin.query(`create table ${SINGLE_SCHEMA}.items (id int primary key, v text not null)`);
    await admin.query(seedSql(`${SINGLE_SCHEMA}.items`, `'${SINGLE_SCHEMA}'`));
    // Same statistics everywhere (so autovacuum does not change plans mid-run), and no
    // checkpoint of the setup's writes during the measurement.
    await admin.query('vacuum analyze');
    await admin.query('checkpoint');
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    log(`setup done in ${setupSeconds.toFixed(1)} s`);

    // 3. Variants
    const pools: pg.Pool[] = [];
    const rawPool = (appName: string, options?: string): pg.Pool => {
      const pool = new pg.Pool({
        connectionString: url,
        max: config.poolMax,
        // Never closed while idle: pg.Pool's default (10 s) would close a variant's connections
        // while the other variants run their rounds, and every round would start on cold
        // backends (each must load the catalog entries of up to every tenant's table again).
        idleTimeoutMillis: 0,
        application_name: appName,
        ...(options === undefined ? {} : { options }),
      });
      pool.on('error', (err) => log(`idle connection of ${appName} failed: ${err.message}`));
      pools.push(pool);
      return pool;
    };
    cleanups.push(() => Promise.all(pools.map((p) => p.end())));

    const noRoleTargets = noRoleTenants.map((t) => ({ id: t.id, schema: t.physicalName }));
    const targets: Target[] = tenants.map((t, index) => ({
      index,
      id: t.id,
      schema: t.physicalName,
      setLocal: `set local search_path to ${quoteIdent(t.physicalName)}`,
      qualified: `select id, v from ${quoteIdent(t.physicalName)}.items where id = $1`,
      route: `select set_config('search_path', '${quoteIdent(t.physicalName)}, pg_temp', true)`,
      prefix: { searchPath: `${quoteIdent(t.physicalName)}, pg_temp`, role: t.role, readOnly: false },
      routeWithRole: `select set_config('search_path', '${quoteIdent(t.physicalName)}, pg_temp', true)${t.role === null ? '' : `, set_config('role', '${t.role}', true)`}`,
    }));
    const workload: Workload = { targets, rows: config.rowsPerTenant };

    const single = rawPool('bench:raw-single', `-c search_path=${SINGLE_SCHEMA}`);
    const seeds = new SeedsLru(url, SEEDS_LRU_MAX, SEEDS_POOL_SIZE, 'bench:seeds-lru90');
    cleanups.push(() => seeds.close());
    const setLocalPool = rawPool('bench:raw-setlocal');
    const routedPool = rawPool('bench:raw-routed');
    const resetPool = rawPool('bench:raw-reset');
    const resetRolePool = rawPool('bench:raw-reset-role');
    const batchPool = rawPool('bench:raw-batch');
    const batch = await rawBatch(batchPool);
    /** Tenantry's own batch (DISCARD ALL, the prefix with search_path and role, the query; one Sync), sent on a bare pg.Pool. */
    const batched = async (t: Target, id: number): Promise<void> => {
      const r = await batch<Row>(t.prefix, QUERY, [id]);
      check(r.rows, t.schema, id);
    };
    /** One round trip: [the reset;] the route [with the role]; the query (an integer id, inlined: simple protocol). */
    const routed = async (pool: pg.Pool, t: Target, id: number, reset: boolean, role = false): Promise<void> => {
      const results = (await pool.query(
        `${reset ? `${RESET_STATEMENTS}; ` : ''}${role ? t.routeWithRole : t.route}; select id, v from items where id = ${Math.trunc(id)}`,
      )) as unknown as pg.QueryResult<Row>[];
      check(results.at(-1)!.rows, t.schema, id);
    };
    const qualifiedPool = rawPool('bench:raw-qualified');

    const all: Variant[] = [
      {
        key: 'baseline',
        label: 'raw pg, one schema (baseline)',
        appName: 'bench:raw-single',
        op: async (_t, id) => {
          const r = await single.query<Row>(QUERY, [id]);
          check(r.rows, SINGLE_SCHEMA, id);
        },
      },
      {
        key: 'tenantry',
        label: 'tenantry withTenant (single-Sync batch, unnamed prefix, reset on owner change)',
        appName: 'bench:tenantry',
        op: async (t, id) => {
          const r = await tenancy.withTenant(t.id, (db) => db.query<Row>(QUERY, [id]));
          check(r.rows, t.schema, id);
        },
      },
      {
        key: 'tenantry-nohomes',
        label: 'tenantry withTenant, pool.homeConnections: false',
        appName: 'bench:tenantry-nohomes',
        op: async (t, id) => {
          const r = await tenancyNoHomes.withTenant(t.id, (db) => db.query<Row>(QUERY, [id]));
          check(r.rows, t.schema, id);
        },
      },
      {
        // Same calls, one tenant: every connection keeps its owner, so no unit of work carries
        // a session reset. Against 'tenantry' (a random tenant per call: the connection changes
        // owner — and is reset — on nearly every unit of work) it shows what the reset costs.
        key: 'tenantry-1tenant',
        label: 'tenantry withTenant, ONE tenant (no session reset)',
        appName: 'bench:tenantry',
        op: async (_t, id) => {
          const t = targets[0]!;
          const r = await tenancy.withTenant(t.id, (db) => db.query<Row>(QUERY, [id]));
          check(r.rows, t.schema, id);
        },
      },
      {
        key: 'tenantry-noroles',
        label: 'tenantry withTenant, tenants without roles (search_path only), random tenant',
        appName: 'bench:tenantry-noroles',
        op: async (t, id) => {
          const n = noRoleTargets[t.index]!;
          const r = await tenancyNoRoles.withTenant(n.id, (db) => db.query<Row>(QUERY, [id]));
          check(r.rows, n.schema, id);
        },
      },
      {
        key: 'tenantry-1tenant-noroles',
        label: 'tenantry withTenant, ONE tenant without a role (search_path only, no reset)',
        appName: 'bench:tenantry-noroles',
        op: async (_t, id) => {
          const n = noRoleTargets[0]!;
          const r = await tenancyNoRoles.withTenant(n.id, (db) => db.query<Row>(QUERY, [id]));
          check(r.rows, n.schema, id);
        },
      },
      {
        key: 'seeds',
        label: `seeds' design: a pool per tenant (max ${SEEDS_POOL_SIZE}) behind an LRU of ${SEEDS_LRU_MAX}`,
        appName: 'bench:seeds-lru90',
        op: async (t, id) => {
          const r = await seeds.query<Row>(t.schema, QUERY, [id]);
          check(r.rows, t.schema, id);
        },
      },
      {
        key: 'setlocal',
        label: 'raw pg, BEGIN/SET LOCAL/SELECT/COMMIT (4 round trips)',
        appName: 'bench:raw-setlocal',
        op: async (t, id) => {
          const client = await setLocalPool.connect();
          let failure: Error | undefined;
          try {
            await client.query('begin');
            await client.query(t.setLocal);
            const r = await client.query<Row>(QUERY, [id]);
            await client.query('commit');
            check(r.rows, t.schema, id);
          } catch (err) {
            failure = err as Error;
            throw err;
          } finally {
            client.release(failure);
          }
        },
      },
      {
        // With the next row, isolates the session reset's own cost from the cost of reaching a
        // random tenant's table (both: one round trip, random tenants, no Tenantry).
        key: 'routed',
        label: 'raw pg, set_config route + query in one round trip (no reset)',
        appName: 'bench:raw-routed',
        op: (t, id) => routed(routedPool, t, id, false),
      },
      {
        key: 'routed-reset',
        label: "raw pg, the same with DISCARD ALL's statements first (the reset)",
        appName: 'bench:raw-reset',
        op: (t, id) => routed(resetPool, t, id, true),
      },
      {
        // The floor of Tenantry's default: the reset, the route with the tenant's role, the query.
        key: 'routed-reset-role',
        label: "raw pg, the same switching to the tenant's role too (Tenantry's default work)",
        appName: 'bench:raw-reset-role',
        op: (t, id) => routed(resetRolePool, t, id, true, true),
      },
      {
        // Against the row above: the wire protocol Tenantry uses (extended, one Sync) instead of
        // one simple-protocol string. Against 'tenantry': Tenantry's pool and unit of work.
        key: 'batch-reset-role',
        label: "raw pg.Pool sending Tenantry's batch (DISCARD ALL, prefix with role, query; one Sync)",
        appName: 'bench:raw-batch',
        op: (t, id) => batched(t, id),
      },
      {
        key: 'qualified',
        label: 'raw pg, schema-qualified names',
        appName: 'bench:raw-qualified',
        op: async (t, id) => {
          const r = await qualifiedPool.query<Row>(t.qualified, [id]);
          check(r.rows, t.schema, id);
        },
      },
    ];
    const unknown = variantFilter.filter((k) => !all.some((v) => v.key === k));
    if (unknown.length > 0)
      throw new Error(`BENCH_VARIANTS: unknown variant(s) ${unknown.join(', ')}; known: ${all.map((v) => v.key).join(', ')}`);
    const variants = variantFilter.length === 0 ? all : all.filter((v) => variantFilter.includes(v.key));

    const postmaster = await findPostmaster(admin);
    const ticks = CLOCK_TICKS_PER_SECOND;
    if (postmaster === undefined) log('PostgreSQL is not a local process: server CPU is not measured');
    const monitor = new ConnectionMonitor(admin);

    // 4a. Cold start, home connections on vs off, alternating, each run on a fresh pool.
    const cold: ColdRun[] = [];
    if (config.coldRounds > 0) {
      const openCold = (homeConnections: boolean): Promise<Tenancy> =>
        createTenancy({
          registryUrl: url,
          migrations,
          pool: { max: config.poolMax, idleTimeoutMillis: 3_600_000, homeConnections },
          applicationName: `bench:cold-${homeConnections ? 'homes' : 'nohomes'}`,
        });
      for (let r = 1; r <= config.coldRounds; r++) {
        // Alternating which goes first, so drift hits both alike.
        for (const homes of r % 2 === 1 ? [true, false] : [false, true]) {
          const run = await coldRun(homes, openCold, targets, postmaster, ticks);
          cold.push(run);
          log(
            `  cold ${r}/${config.coldRounds}  homes ${homes ? 'on ' : 'off'}  ${run.ops} units of work in ${config.coldSeconds} s` +
              (run.pgCpuUs === undefined ? '' : `  pg ${run.pgCpuUs.toFixed(0)} µs/op`) +
              `  ${run.pairs} distinct (backend, tenant) pairs over ${run.backends} backends  load ${loadavg()[0]!.toFixed(2)}`,
          );
        }
      }
    }

    // 4. Warm-up, then alternating rounds. A server process pays a lot the first time it opens
    // a table (relation and catalog caches), so the tenant variants first sweep every tenant
    // from as many callers as connections; then every variant runs its workload for a while.
    const warmStarted = performance.now();
    for (const v of variants) if (v.key !== 'baseline') await sweep(v, workload, config.poolMax);
    if (config.warmupSeconds > 0) {
      for (const v of variants) await runFor(v, workload, config.warmupSeconds);
    }
    log(
      `warm-up done in ${((performance.now() - warmStarted) / 1000).toFixed(1)} s (a sweep of every tenant per connection, then ${config.warmupSeconds} s of load per variant)`,
    );
    const rounds = new Map<string, Round[]>(variants.map((v) => [v.key, []]));
    for (let r = 1; r <= config.rounds; r++) {
      for (const v of variants) {
        const round = await measure(v, workload, monitor, postmaster, ticks);
        rounds.get(v.key)!.push(round);
        log(
          `  round ${r}/${config.rounds}  ${v.key.padEnd(16)} ${Math.round(round.opsPerSec).toString().padStart(7)} ops/s` +
            `  node ${round.nodeCpuUs.toFixed(0)} µs/op` +
            (round.pgCpuUs === undefined ? '' : `  pg ${round.pgCpuUs.toFixed(0)} µs/op`) +
            `  peak ${round.peakConnections} conns` +
            (round.otherCores === undefined ? '' : `  other load ${round.otherCores.toFixed(2)} cores`),
        );
      }
    }

    // 5. Report
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    const summary = variants.map((v) => {
      const rs = rounds.get(v.key)!;
      const ops = sum(rs.map((r) => r.ops));
      const pgKnown = rs.every((r) => r.pgCpuUs !== undefined);
      return {
        key: v.key,
        label: v.label,
        opsPerSec: median(rs.map((r) => r.opsPerSec)),
        opsPerSecRounds: rs.map((r) => Math.round(r.opsPerSec)),
        // CPU per op over all rounds (total CPU / total ops): steadier than a median of rounds.
        nodeCpuUsPerOp: sum(rs.map((r) => r.nodeCpuUs * r.ops)) / ops,
        pgCpuUsPerOp: pgKnown ? sum(rs.map((r) => r.pgCpuUs! * r.ops)) / ops : undefined,
        peakConnections: Math.max(...rs.map((r) => r.peakConnections)),
        peakAllConnections: Math.max(...rs.map((r) => r.peakAllConnections)),
        backendsSeenRounds: rs.map((r) => r.backendsSeen),
        otherCoresRounds: rs.map((r) => r.otherCores),
        stealCoresRounds: rs.map((r) => r.stealCores),
      };
    });
    const base = summary.find((s) => s.key === 'baseline');
    const withRatio = summary.map((s) => ({ ...s, ratio: base === undefined ? undefined : s.opsPerSec / base.opsPerSec }));

    const cpu = cpus();
    const machine = {
      cores: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${process.platform} ${osRelease()}`,
      node: process.version,
      postgres: pgVersion,
      postgresSource: server === undefined ? 'TENANTRY_BENCH_DATABASE_URL' : 'embedded (@tenantry/testing)',
      maxConnections,
      loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
    };

    const header = ['variant', 'ops/s', 'vs baseline', 'node µs/op', 'pg µs/op', 'peak conns'];
    const table = withRatio.map((s) => [
      s.label,
      Math.round(s.opsPerSec).toString(),
      s.ratio === undefined ? '—' : `${s.ratio.toFixed(2)}×`,
      s.nodeCpuUsPerOp.toFixed(0),
      s.pgCpuUsPerOp === undefined ? '—' : s.pgCpuUsPerOp.toFixed(0),
      s.peakConnections.toString(),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    const fmt = (row: readonly string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' │ ');
    log('');
    log(
      `Unit-of-work benchmark: ${config.tenants} tenants × ${config.rowsPerTenant} rows, ${config.callers} callers, pool ${config.poolMax}, ` +
        `median of ${config.rounds} alternating rounds × ${config.roundSeconds} s`,
    );
    log(`machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}`);
    log(`server:  ${machine.postgres}`);
    log('');
    log(fmt(header));
    log(widths.map((w) => '─'.repeat(w)).join('─┼─'));
    for (const row of table) log(fmt(row));
    log('');
    const coldSummary = [true, false].map((homeConnections) => {
      const runs = cold.filter((c) => c.homeConnections === homeConnections);
      const ops = sum(runs.map((c) => c.ops));
      const pgKnown = runs.every((c) => c.pgCpuUs !== undefined);
      return {
        homeConnections,
        runs: runs.length,
        unitsOfWork: ops,
        pgCpuUsPerOp: runs.length > 0 && pgKnown ? round2(sum(runs.map((c) => c.pgCpuUs! * c.ops)) / ops) : null,
        pairsRuns: runs.map((c) => c.pairs),
        pairsPerThousandOps: runs.length > 0 ? round2((sum(runs.map((c) => c.pairs)) * 1000) / ops) : null,
      };
    });
    if (cold.length > 0) {
      log(
        `cold start (first ${config.coldSeconds} s of fresh backends, ${config.coldRounds} runs each, alternating): ` +
          coldSummary
            .map(
              (c) =>
                `homes ${c.homeConnections ? 'on' : 'off'}: pg ${c.pgCpuUsPerOp ?? '—'} µs/op, ${c.pairsRuns.join(' / ')} distinct (backend, tenant) pairs (${c.pairsPerThousandOps} per 1,000 units of work)`,
            )
            .join('; '),
      );
    }
    const tenantry = withRatio.find((s) => s.key === 'tenantry');
    let goal: { ratio: number; measured: number | undefined; met: boolean | undefined } = {
      ratio: config.goalRatio,
      measured: undefined,
      met: undefined,
    };
    if (tenantry?.ratio !== undefined) {
      goal = { ratio: config.goalRatio, measured: Math.round(tenantry.ratio * 1000) / 1000, met: tenantry.ratio >= config.goalRatio };
      log(
        `goal: tenantry withTenant ≥ ${config.goalRatio.toFixed(2)}× baseline — measured ${tenantry.ratio.toFixed(2)}× (${goal.met ? 'met' : 'MISSED'})`,
      );
    }
    if (variants.some((v) => v.key === 'seeds'))
      log(
        `seeds' design: ${seeds.misses} pools created (LRU misses), ${seeds.evictedInUse} calls found their pool ended by an eviction and retried`,
      );
    log('ops/s: median round; µs/op: CPU over all rounds ÷ ops (pg = every postgres process); peak conns: client backends of the variant');
    const others = summary.flatMap((s) => s.otherCoresRounds).filter((x): x is number => x !== undefined);
    const steals = summary.flatMap((s) => s.stealCoresRounds).filter((x): x is number => x !== undefined);
    const interference =
      others.length === 0
        ? undefined
        : {
            medianOtherCores: round2(median(others)),
            maxOtherCores: round2(Math.max(...others)),
            maxStealCores: steals.length === 0 ? undefined : round2(Math.max(...steals)),
          };
    if (interference !== undefined) {
      const noisy = interference.maxOtherCores > 0.15 || (interference.maxStealCores ?? 0) > 0.15;
      log(
        `other load on the machine during the rounds: median ${interference.medianOtherCores.toFixed(2)}, max ${interference.maxOtherCores.toFixed(2)} cores` +
          (interference.maxStealCores === undefined ? '' : `; steal max ${interference.maxStealCores.toFixed(2)} cores`) +
          (noisy ? ' — NOISY: other processes competed for the CPU; re-run on a quiet machine before trusting the ratios' : ''),
      );
    }

    const result = {
      benchmark: 'uow',
      description: 'Point lookups by primary key in a random tenant; Tenantry units of work vs raw pg',
      date: new Date().toISOString(),
      query: QUERY,
      config: { ...config, variants: variants.map((v) => v.key), tenantRoles },
      machine,
      setupSeconds: Math.round(setupSeconds * 10) / 10,
      goal,
      interference: interference ?? null,
      coldStart: cold.length === 0 ? null : { seconds: config.coldSeconds, summary: coldSummary, runs: cold },
      seedsDesign: {
        lruMax: SEEDS_LRU_MAX,
        poolSize: SEEDS_POOL_SIZE,
        poolsCreated: seeds.misses,
        callsWhosePoolWasEndedUnderThem: seeds.evictedInUse,
      },
      variants: withRatio.map((s) => ({
        key: s.key,
        label: s.label,
        opsPerSec: Math.round(s.opsPerSec),
        opsPerSecRounds: s.opsPerSecRounds,
        ratioToBaseline: s.ratio === undefined ? null : Math.round(s.ratio * 1000) / 1000,
        nodeCpuUsPerOp: Math.round(s.nodeCpuUsPerOp * 10) / 10,
        pgCpuUsPerOp: s.pgCpuUsPerOp === undefined ? null : Math.round(s.pgCpuUsPerOp * 10) / 10,
        peakConnections: s.peakConnections,
        peakAllClientConnections: s.peakAllConnections,
        backendsSeenRounds: s.backendsSeenRounds,
        otherLoadCoresRounds: s.otherCoresRounds.map((x) => (x === undefined ? null : round2(x))),
      })),
    };
    if (outputPath !== undefined) {
      mkdirSync(dirname(outputPath), { recursive: true });
      writeFileSync(outputPath, `${JSON.stringify(result, null, 2)}\n`);
      log(`results written to ${outputPath}`);
    }
    log(`total ${((performance.now() - began) / 1000).toFixed(1)} s`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:uow failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
