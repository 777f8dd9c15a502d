/**
 * `npm run bench:migrate` — migrations across many schema tenants (issue 5):
 * (a) the "nothing pending" check over every tenant — goal ≤ 2 s for 10,000 tenants — and
 * (b) an ADD COLUMN + CREATE INDEX migration applied to all of them — goal ≤ 60 s on 2 cores.
 *
 * Knobs: BENCH_TENANTS (default 10000), BENCH_CONCURRENCY (migration, default 8),
 * BENCH_CREATE_CONCURRENCY (setup, default 4), BENCH_POOL (default 10), TENANTRY_BENCH_DATABASE_URL.
 */
import { performance } from 'node:perf_hooks';
import { createTenancy, migrationList } from '@tenantry/core';
import { benchServer, envInt, log, machine, runBench, watchConnections, writeResult } from './bench-env.js';

const V1 = [{ name: '0001_items', up: 'create table items (id int primary key, v text not null)' }];
const V2 = [
  ...V1,
  {
    name: '0002_tags',
    up: 'alter table items add column tag text; create index items_tag on items (tag)',
    down: 'drop index items_tag; alter table items drop column tag',
  },
];

async function main(): Promise<void> {
  const n = envInt('BENCH_TENANTS', 10_000);
  const concurrency = envInt('BENCH_CONCURRENCY', 8);
  const createConcurrency = envInt('BENCH_CREATE_CONCURRENCY', 4);
  const pool = envInt('BENCH_POOL', 10, 2);
  const { url, server, version } = await benchServer();
  const setup = await createTenancy({
    registryUrl: url,
    migrations: migrationList(V1),
    applicationName: 'bench:setup',
    pool: { max: pool },
    listen: false,
  });
  try {
    log(`Creating ${n} schema tenants (concurrency ${createConcurrency}) on PostgreSQL ${version}…`);
    const t0 = performance.now();
    let next = 0;
    let last = 0;
    await Promise.all(
      Array.from({ length: createConcurrency }, async () => {
        while (next < n) {
          const i = next++;
          await setup.tenants.create({ slug: `m-${i}`, name: `M ${i}` });
          if (i - last >= 1000) {
            last = i;
            log(`  ${i} created (${Math.round((performance.now() - t0) / 1000)} s)`);
          }
        }
      }),
    );
    const setupSeconds = (performance.now() - t0) / 1000;
    log(`  done in ${setupSeconds.toFixed(1)} s`);
  } finally {
    await setup.close();
  }
  const tenancy = await createTenancy({
    registryUrl: url,
    migrations: migrationList(V2),
    applicationName: 'bench:migrate',
    pool: { max: pool },
  });
  try {
    // (a) nothing pending? — with V1 tenants and V1 source there is nothing to do.
    const v1 = await createTenancy({
      registryUrl: url,
      migrations: migrationList(V1),
      applicationName: 'bench:check',
      pool: { max: pool },
      listen: false,
      reconcileOnStart: false,
    });
    const checkWatch = await watchConnections(url, 'bench:check');
    const c0 = performance.now();
    const check = await v1.migrate();
    const checkSeconds = (performance.now() - c0) / 1000;
    const s0 = performance.now();
    const status = await v1.migrationStatus();
    const statusSeconds = (performance.now() - s0) / 1000;
    const checkPeak = await checkWatch.stop();
    await v1.close();
    if (check.counts['up-to-date'] !== n) throw new Error(`expected ${n} up-to-date tenants, got ${JSON.stringify(check.counts)}`);
    // (b) the migration itself.
    let done = 0;
    const migrateWatch = await watchConnections(url, 'bench:migrate');
    const m0 = performance.now();
    const run = await tenancy.migrate({
      concurrency,
      onError: 'continue',
      onProgress: (p) => {
        done = p.done;
        if (p.done % 1000 === 0) log(`  ${p.done}/${p.total} (${Math.round((performance.now() - m0) / 1000)} s)`);
      },
    });
    const migrateSeconds = (performance.now() - m0) / 1000;
    const migratePeak = await migrateWatch.stop();
    if (!run.ok) throw new Error(`migration failed for ${run.counts.failed} tenants: ${run.results.find((r) => r.error)?.error?.message}`);
    const rows = [
      {
        step: 'nothing pending: migrate() with no work',
        tenants: n,
        seconds: round(checkSeconds),
        tenantsPerSecond: Math.round(n / checkSeconds),
        goalSeconds: 2,
        met: checkSeconds <= 2,
        peakConnections: checkPeak,
      },
      {
        step: 'nothing pending: migrationStatus()',
        tenants: n,
        seconds: round(statusSeconds),
        tenantsPerSecond: Math.round(n / statusSeconds),
        goalSeconds: 2,
        met: statusSeconds <= 2,
        pending: status.pending,
        peakConnections: checkPeak,
      },
      {
        step: `ADD COLUMN + CREATE INDEX (concurrency ${concurrency})`,
        tenants: done,
        seconds: round(migrateSeconds),
        tenantsPerSecond: Math.round(done / migrateSeconds),
        goalSeconds: 60,
        met: migrateSeconds <= 60,
        peakConnections: migratePeak,
      },
    ];
    log('');
    log('| step | tenants | seconds | tenants/s | goal | peak conns |');
    log('|---|---|---|---|---|---|');
    for (const r of rows)
      log(
        `| ${r.step} | ${r.tenants} | ${r.seconds} | ${r.tenantsPerSecond} | ≤ ${r.goalSeconds} s ${r.met ? '✓' : '✗'} | ${r.peakConnections} |`,
      );
    const path = writeResult('migrate', { benchmark: 'migrate', date: new Date().toISOString(), machine: machine(version), pool, rows });
    log('');
    log(`written to ${path}`);
  } finally {
    await tenancy.close();
    await server?.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

runBench('bench:migrate', main);
