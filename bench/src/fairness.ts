/**
 * `npm run bench:fairness`: what one flooding tenant costs the others.
 *
 * 50 tenants run at a normal rate (open loop: each starts a unit of work every
 * `1000 / TENANTRY_BENCH_RATE` ms whatever the latency, so waiting shows in the figures), and
 * their latency is measured from when each unit of work was due. Three phases, in one run, on
 * one server and budget:
 *
 *   1. baseline — the 50 alone;
 *   2. flood, with plans — one more tenant runs 32 callers in a closed loop, each unit of work
 *      holding its connection (`pg_sleep`), under the default plan's share of the budget;
 *   3. flood, no share — the same flood with plans off (for context: what the share buys);
 *   4. flood, with plans, no homes — phase 2 with `pool.homeConnections: false` (what the home
 *      connections' preference for a warm waiter costs the others, if anything);
 *   5. flood, with plans, headroom 1 — phase 2 with `pool.shareHeadroom: 1`: the flood, over its
 *      share, may not take the last free connection (what that buys the others, and costs the flood).
 *
 * TENANTRY_BENCH_REPEAT (1) runs the phases that many times in turn and pools each phase's
 * latencies: on a loaded machine one 8 s phase's p99 swings several-fold from run to run.
 *
 * The goal: the others' p99 under the flood, with plans, ≤ 1.5 × their p99 alone.
 * Settings (environment): TENANTRY_BENCH_TENANTS (50), TENANTRY_BENCH_FLOOD_CALLERS (32),
 * TENANTRY_BENCH_RATE (per tenant per second, 4), TENANTRY_BENCH_SECONDS (per phase, 8),
 * TENANTRY_BENCH_POOL_MAX (10), TENANTRY_BENCH_SHARE (the default plan's maxConnectionShare, 0.3),
 * TENANTRY_BENCH_FLOOD_SLEEP_MS (8). Writes bench/results/fairness.json.
 */
import { performance } from 'node:perf_hooks';
import { createTenancy, migrationList, type Tenancy, type Tenant } from '@tenantry/core';
import { benchServer, envInt, log, machine, percentile, runBench, writeResult } from './bench-env.js';

const TENANTS = envInt('TENANTRY_BENCH_TENANTS', 50);
const FLOOD_CALLERS = envInt('TENANTRY_BENCH_FLOOD_CALLERS', 32);
const RATE = envInt('TENANTRY_BENCH_RATE', 4);
const SECONDS = envInt('TENANTRY_BENCH_SECONDS', 8);
const POOL_MAX = envInt('TENANTRY_BENCH_POOL_MAX', 10);
const FLOOD_SLEEP_MS = envInt('TENANTRY_BENCH_FLOOD_SLEEP_MS', 8);
const SHARE = Number(process.env['TENANTRY_BENCH_SHARE'] ?? '0.3');
const REPEAT = envInt('TENANTRY_BENCH_REPEAT', 1);
const GOAL = 1.5;

const migrations = migrationList([
  {
    name: '0001_items',
    up: "create table items (id int primary key, v text not null);\ninsert into items select g, 'item ' || g from generate_series(1, 100) g;",
  },
]);

interface Phase {
  readonly name: string;
  readonly units: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Units of work the flooding tenant finished (0 without a flood). */
  readonly floodUnits: number;
}

/** A phase's raw figures, pooled over the repeats. */
interface Samples {
  latencies: number[];
  errors: number;
  floodUnits: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number): number => Math.round(x * 100) / 100;

/** Runs the others (and the flood when `flooder` is given) for SECONDS; the others' latencies. */
async function phase(tenancy: Tenancy, others: readonly Tenant[], flooder: Tenant | undefined): Promise<Samples> {
  let running = true;
  let floodUnits = 0;
  const floods = flooder
    ? Array.from({ length: FLOOD_CALLERS }, async () => {
        while (running) {
          await tenancy
            .withTenant(flooder.id, (db) => db.query('select pg_sleep($1::float8 / 1000), count(*) from items', [FLOOD_SLEEP_MS]))
            .then(() => floodUnits++)
            .catch(() => undefined);
        }
      })
    : [];
  // Let the flood fill its share before measuring.
  if (flooder) await sleep(500);
  const latencies: number[] = [];
  let errors = 0;
  const interval = 1000 / RATE;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  await Promise.all(
    others.map(async (tenant, i) => {
      // Phases spread over the interval, so the 50 do not all start at once.
      let due = started + (interval * i) / others.length;
      while (due < started + SECONDS * 1000) {
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const at = due;
        inFlight.push(
          tenancy
            .withTenant(tenant.id, (db) => db.query('select v from items where id = $1', [1 + (Math.floor(at) % 100)]))
            .then(
              () => void latencies.push(performance.now() - at),
              () => void errors++,
            ),
        );
        due += interval;
      }
    }),
  );
  await Promise.all(inFlight);
  running = false;
  await Promise.all(floods);
  return { latencies, errors, floodUnits };
}

function summarize(name: string, s: Samples): Phase {
  return {
    name,
    units: s.latencies.length,
    errors: s.errors,
    p50: round(percentile(s.latencies, 50)),
    p99: round(percentile(s.latencies, 99)),
    max: round(s.latencies.reduce((m, x) => Math.max(m, x), 0)),
    floodUnits: s.floodUnits,
  };
}

async function main(): Promise<void> {
  const { url, server, version } = await benchServer();
  try {
    const options = { registryUrl: url, migrations, pool: { max: POOL_MAX, acquireTimeoutMillis: 60_000 } };
    const fair = await createTenancy({
      ...options,
      applicationName: 'bench:fairness',
      plans: { default: { maxConnectionShare: SHARE } },
    });
    const unfair = await createTenancy({ ...options, applicationName: 'bench:fairness-off', reconcileOnStart: false });
    const noHomes = await createTenancy({
      ...options,
      pool: { ...options.pool, homeConnections: false },
      applicationName: 'bench:fairness-nohomes',
      plans: { default: { maxConnectionShare: SHARE } },
      reconcileOnStart: false,
    });
    const headroom = await createTenancy({
      ...options,
      pool: { ...options.pool, shareHeadroom: 1 },
      applicationName: 'bench:fairness-headroom',
      plans: { default: { maxConnectionShare: SHARE } },
      reconcileOnStart: false,
    });
    try {
      log(`creating ${TENANTS + 1} tenants…`);
      const all: Tenant[] = [];
      for (let i = 0; i < TENANTS + 1; i += 8) {
        const batch = Array.from({ length: Math.min(8, TENANTS + 1 - i) }, (_, j) =>
          fair.tenants.create({ slug: `fair-${i + j}`, name: `Fair ${i + j}` }),
        );
        all.push(...(await Promise.all(batch)));
      }
      const [flooder, ...others] = all as [Tenant, ...Tenant[]];
      // Warm both tenancies' caches and connections.
      for (const t of all) await fair.withTenant(t.id, (db) => db.query('select 1'));
      for (const t of all) await unfair.withTenant(t.id, (db) => db.query('select 1'));
      for (const t of all) await noHomes.withTenant(t.id, (db) => db.query('select 1'));
      for (const t of all) await headroom.withTenant(t.id, (db) => db.query('select 1'));
      const share = Math.max(1, Math.floor(SHARE * POOL_MAX));
      log(
        `${TENANTS} tenants × ${RATE}/s for ${SECONDS} s per phase, ${REPEAT} time(s); flood: ${FLOOD_CALLERS} callers, ${FLOOD_SLEEP_MS} ms per unit of work; budget ${POOL_MAX}, share ${share}`,
      );
      const runs: [string, Tenancy, Tenant | undefined][] = [
        ['baseline (no flood)', fair, undefined],
        ['flood, with plans', fair, flooder],
        ['flood, no share', unfair, flooder],
        ['flood, plans, no homes', noHomes, flooder],
        ['flood, plans, headroom 1', headroom, flooder],
      ];
      const samples = runs.map((): Samples => ({ latencies: [], errors: 0, floodUnits: 0 }));
      for (let r = 0; r < REPEAT; r++) {
        // The flood phases in reverse order every other time, so that drift hits them alike.
        const order = r % 2 === 0 ? [0, 1, 2, 3, 4] : [0, 4, 3, 2, 1];
        for (const i of order) {
          const [, tenancy, flood] = runs[i]!;
          const s = await phase(tenancy, others, flood);
          samples[i]!.latencies.push(...s.latencies);
          samples[i]!.errors += s.errors;
          samples[i]!.floodUnits += s.floodUnits;
        }
      }
      const phases = runs.map(([name], i) => summarize(name, samples[i]!));
      log('');
      log(
        `${'phase'.padEnd(24)} ${'units'.padStart(6)} ${'errors'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'flood units'.padStart(12)}`,
      );
      for (const p of phases)
        log(
          `${p.name.padEnd(24)} ${String(p.units).padStart(6)} ${String(p.errors).padStart(6)} ${p.p50.toFixed(2).padStart(8)} ${p.p99.toFixed(2).padStart(8)} ${p.max.toFixed(2).padStart(8)} ${String(p.floodUnits).padStart(12)}`,
        );
      const ratio = round(phases[1]!.p99 / phases[0]!.p99);
      const ratioOff = round(phases[2]!.p99 / phases[0]!.p99);
      const ratioNoHomes = round(phases[3]!.p99 / phases[0]!.p99);
      const ratioHeadroom = round(phases[4]!.p99 / phases[0]!.p99);
      log('');
      log(`p99 ratio, flood with plans / baseline: ${ratio}× (goal ≤ ${GOAL}×: ${ratio <= GOAL ? 'met' : 'missed'})`);
      log(`p99 ratio, flood without a share / baseline: ${ratioOff}×`);
      log(`p99 ratio, flood with plans but no home connections / baseline: ${ratioNoHomes}×`);
      log(
        `p99 ratio, flood with plans and pool.shareHeadroom 1 / baseline: ${ratioHeadroom}× (goal ≤ ${GOAL}×: ${ratioHeadroom <= GOAL ? 'met' : 'missed'}); the flood's units of work: ${round(phases[4]!.floodUnits / Math.max(1, phases[1]!.floodUnits))}× of phase 2's`,
      );
      log('indicative: the machine is shared and loaded; compare the rows of one run, not runs.');
      const path = writeResult('fairness', {
        at: new Date().toISOString(),
        machine: machine(version),
        settings: {
          tenants: TENANTS,
          floodCallers: FLOOD_CALLERS,
          rate: RATE,
          seconds: SECONDS,
          poolMax: POOL_MAX,
          share,
          floodSleepMs: FLOOD_SLEEP_MS,
          repeat: REPEAT,
        },
        phases,
        ratio,
        ratioWithoutShare: ratioOff,
        ratioWithoutHomes: ratioNoHomes,
        ratioWithHeadroom: ratioHeadroom,
        goal: GOAL,
      });
      log(`written to ${path}`);
    } finally {
      await fair.close();
      await unfair.close();
      await noHomes.close();
      await headroom.close();
    }
  } finally {
    await server?.stop();
  }
}

runBench('bench:fairness', main);
