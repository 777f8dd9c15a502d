/**
 * bench:http — one row (a server under test) through warm-up and measurement: the sample and
 * isolation checks, the sweep, the settle wait, a measured round.
 */
import { performance } from 'node:perf_hooks';
import type { CpuMeter, Reading, RoundCpu } from './http-cpu.js';
import type { LoadGenerator, LoadTarget, RoundResult } from './http-load.js';
import { countBackends, type BackendScope, type ConnectionMonitor, type DatabaseCounters } from './http-monitor.js';
import type { RunningServer } from './http-servers.js';
import { http } from './http-setup.js';
import { log } from './bench-env.js';

/** The knobs the measurement needs. */
export interface MeasureOptions {
  readonly connections: number;
  readonly leadInSeconds: number;
  readonly monitorMs: number;
  /** Server connections per app: more than this + 5 backends is a leak to wait out. */
  readonly pool: number;
  readonly sweepCallers: number;
  readonly sweepMaxSeconds: number;
  readonly settleMaxSeconds: number;
}

const UNKNOWN_POST = '00000000-0000-4000-8000-000000000000';

/** A row being measured. */
export interface Row {
  readonly key: string;
  readonly label: string;
  /** The server's backends in pg_stat_activity. */
  readonly backends: BackendScope;
  /** Our own rows must be error-free or the run fails; a peer's failures are reported. */
  readonly mustSucceed: boolean;
  readonly server: RunningServer;
  readonly targets: readonly LoadTarget[];
  /** One target per tenant, for the sweep. */
  readonly sweep: readonly LoadTarget[];
  /** Requests that must not find the post: [target, expected status]. */
  readonly negatives: readonly (readonly [LoadTarget, number])[];
  readonly rounds: RoundResult[];
  readonly cpu: RoundCpu[];
  /** What PostgreSQL counted in the row's database during each round. */
  readonly db: RoundDatabase[];
  readonly peaks: number[];
  readonly peakByApp: Map<string, number>;
  readonly settleSeconds: number[];
  readonly failures: string[];
  /** What the server last logged about a failure (its line, without the prefix). */
  serverError?: string;
  warmup?: { sweepRequests: number; sweepSeconds: number; sweepCapped: boolean; load?: RoundResult };
}

/**
 * A round as its database counted it: transactions per response (each Sync outside an explicit
 * transaction is one: the plain app's query is 1, a batch with a session reset is still 1, a
 * lock release or registry read on its own adds 1) and backends opened (a new backend starts
 * with cold catalog caches: with 1,000 schemas each first touch of a tenant costs it ≈ 1–2 ms).
 * The reference API and the tenancy row share a database; only one row runs at a time.
 */
export interface RoundDatabase {
  readonly transactionsPerRequest: number;
  readonly backendsOpened: number;
}

export interface Skipped {
  readonly key: string;
  readonly label: string;
  readonly skipped: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What a server logged about its last failure (PostgreSQL's refusal first), for failure reports. */
function serverError(server: RunningServer): string | undefined {
  const lines = server
    .tail()
    // eslint-disable-next-line no-control-regex -- strips ANSI colour codes (ESC [ … m)
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim());
  const line = lines.findLast((l) => /too many clients|remaining connection slots/i.test(l)) ?? lines.findLast((l) => /error/i.test(l));
  return line?.slice(0, 240);
}

export function describeFailures(r: RoundResult): string | undefined {
  if (r.non2xx === 0 && r.errors === 0 && r.mismatches === 0) return undefined;
  const codes = Object.entries(r.statusCodes)
    .filter(([c]) => !c.startsWith('2'))
    .map(([c, n]) => `${n}× ${c}`)
    .join(', ');
  const parts = [`${r.non2xx} of ${r.responses} responses not 2xx${codes === '' ? '' : ` (${codes})`}`];
  if (r.errors > 0) parts.push(`${r.errors} connection errors/timeouts`);
  if (r.mismatches > 0) parts.push(`${r.mismatches} bodies that were not the post asked for (first: ${r.firstMismatch})`);
  return parts.join(', ');
}

/** Records (peer) or throws (our rows) a failure. */
export function fail(row: Row, what: string): void {
  const logged = serverError(row.server);
  const message = `${row.label}: ${what}${logged === undefined ? '' : `; the server logged: ${logged}`}`;
  if (row.mustSucceed) throw new Error(message);
  row.failures.push(what);
  if (logged !== undefined) row.serverError = logged;
  log(`  ! ${message}`);
}

/** Waits until no row's server holds more than its pool and a few backends (a leak elsewhere must not starve the next row). */
export async function settle(monitor: ConnectionMonitor, rows: readonly Row[], o: MeasureOptions): Promise<number> {
  const started = performance.now();
  const limit = o.pool + 5;
  for (;;) {
    const now = await monitor.snapshot();
    const over = rows.map((r) => [r, countBackends(now, r.backends).total] as const).filter(([, n]) => n > limit);
    const waited = (performance.now() - started) / 1000;
    if (over.length === 0) return waited;
    if (waited >= o.settleMaxSeconds) {
      log(`  (settle: ${over.map(([r, n]) => `${r.key} still holds ${n} backends`).join(', ')} after ${o.settleMaxSeconds} s; going on)`);
      return waited;
    }
    await sleep(250);
  }
}

/** Known posts, another tenant's posts and an unknown id, one request at a time. */
export async function checkSample(row: Row): Promise<void> {
  const sample = Array.from(
    { length: Math.min(50, row.targets.length) },
    () => row.targets[Math.floor(Math.random() * row.targets.length)]!,
  );
  for (const t of sample) {
    const r = await http(row.server.url, 'GET', t.path, { headers: { ...t.headers } });
    const post = r.body as { id?: string; title?: string } | undefined;
    if (r.status !== 200 || post?.id !== t.id || post.title !== t.title)
      return fail(row, `sample check: ${t.path} answered ${r.status} ${r.text.slice(0, 200)}`);
  }
  const anyHeaders = row.targets[0]!.headers;
  for (const [t, status] of [
    ...row.negatives,
    [{ ...row.targets[0]!, path: `/posts/${UNKNOWN_POST}`, headers: anyHeaders }, 404] as const,
  ]) {
    const r = await http(row.server.url, 'GET', t.path, { headers: { ...t.headers } });
    if (r.status !== status)
      return fail(
        row,
        `isolation check: ${t.path} with ${JSON.stringify(t.headers['x-tenant-id'] ?? null)} answered ${r.status}, expected ${status}: ${r.text.slice(0, 200)}`,
      );
  }
}

/** Every tenant once from each of `sweepCallers` callers (each starting elsewhere), checking every answer. */
export async function sweep(row: Row, o: MeasureOptions): Promise<void> {
  const started = performance.now();
  const deadline = started + o.sweepMaxSeconds * 1000;
  const n = row.sweep.length;
  let requests = 0;
  let stop = false;
  let capped = false;
  await Promise.all(
    Array.from({ length: o.sweepCallers }, async (_, c) => {
      const start = Math.floor((c * n) / o.sweepCallers);
      for (let k = 0; k < n && !stop; k++) {
        if (performance.now() > deadline) {
          capped = true;
          return;
        }
        const t = row.sweep[(start + k) % n]!;
        const r = await http(row.server.url, 'GET', t.path, { headers: { ...t.headers } });
        requests++;
        const post = r.body as { id?: string; title?: string } | undefined;
        if (r.status !== 200 || post?.id !== t.id || post.title !== t.title) {
          if (!stop) {
            stop = true;
            fail(row, `warm-up sweep: request ${requests} (${t.path}) answered ${r.status} ${r.text.slice(0, 200)}`);
          }
          return;
        }
      }
    }),
  );
  row.warmup = { sweepRequests: requests, sweepSeconds: Math.round((performance.now() - started) / 100) / 10, sweepCapped: capped };
}

export async function measureRound(
  row: Row,
  load: LoadGenerator,
  monitor: ConnectionMonitor,
  cpu: CpuMeter,
  seconds: number,
  o: MeasureOptions,
): Promise<{ result: RoundResult; peak: number; cpu: RoundCpu; db: RoundDatabase }> {
  let before: Reading | undefined;
  let countersBefore: Promise<DatabaseCounters> | undefined;
  // The window (connections, CPU) opens when autocannon's measured run starts, after the lead-in.
  const running = load.run(row.key, row.server.url, { connections: o.connections, seconds, leadInSeconds: o.leadInSeconds }, () => {
    monitor.start(o.monitorMs, row.backends);
    before = cpu.read(row.server.pid);
    countersBefore = monitor.databaseCounters(row.backends.database);
    countersBefore.catch(() => undefined);
  });
  await running.catch(() => undefined);
  const after = cpu.read(row.server.pid);
  const peaks = await monitor.stop();
  const countersAfter = await monitor.databaseCounters(row.backends.database);
  const result = await running;
  if (before === undefined || countersBefore === undefined)
    throw new Error(`${row.label}: the load generator never started its measured run`);
  const c0 = await countersBefore;
  for (const [app, n] of peaks.byApp) if (n > (row.peakByApp.get(app) ?? 0)) row.peakByApp.set(app, n);
  const db: RoundDatabase = {
    transactionsPerRequest: Math.round(((countersAfter.transactions - c0.transactions) / Math.max(1, result.responses)) * 100) / 100,
    backendsOpened: countersAfter.sessions - c0.sessions,
  };
  return { result, peak: peaks.total, cpu: cpu.between(before, after, result.responses), db };
}

/** Index of the median round by req/s (the lower middle for an even count). */
export function medianIndex(rounds: readonly RoundResult[]): number {
  const order = rounds.map((r, i) => [r.reqPerSec, i] as const).sort((a, b) => a[0] - b[0]);
  return order[Math.floor((order.length - 1) / 2)]![1];
}
