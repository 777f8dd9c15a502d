/**
 * `npm run bench:http` — `GET /posts/:id` over HTTP, side by side in one run:
 *
 * 1. the reference API (apps/api) over N schema tenants, a random tenant per request
 *    (`x-tenant-id` + that tenant's JWT);
 * 2. the plain app in tenancy mode: NestJS + `@tenantry/nestjs` only, over the reference API's
 *    tenants, a random tenant per request (`x-tenant-id` only);
 * 3. a plain NestJS app without tenancy on ONE schema holding the same rows (the baseline);
 * 4. nestjs-multitenant (npm, NestJS 11 + TypeORM 0.3, in its own project under bench/peers/)
 *    over N of its tenants holding the same rows.
 *
 * Bench, servers and load generator (autocannon) are separate processes. Each row is warmed
 * up, then the rows are measured in alternating rounds; the median round is reported with the
 * peak server connections from pg_stat_activity. See bench/README.md for the knobs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { quoteIdent } from '@tenantry/core';
import { benchServer, envInt, log, machine, runBench, writeResult } from './bench-env.js';
import { CpuMeter, postmasterOf } from './http-cpu.js';
import { LoadGenerator, type LoadTarget } from './http-load.js';
import { ConnectionMonitor, type BackendScope } from './http-monitor.js';
import {
  checkSample,
  describeFailures,
  fail,
  measureRound,
  medianIndex,
  settle,
  sweep,
  type MeasureOptions,
  type Row,
  type Skipped,
} from './http-rows.js';
import { startServer, type RunningServer } from './http-servers.js';
import { tokenService } from './plain-app/tokens.js';
import {
  createPeerTenants,
  crossTenant,
  ensurePeerInstalled,
  fillPeerTenants,
  peerTargets,
  postsDdl,
  postTargets,
  provisionPlain,
  provisionReference,
  referenceTargets,
  sweepTargets,
  tenancyTargets,
} from './http-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const API_MAIN = join(repo, 'apps', 'api', 'dist', 'main.js');
const POSTS_MIGRATION = join(repo, 'apps', 'api', 'migrations', '0001_create_posts.sql');
const PLAIN_MAIN = join(here, 'plain-app', 'main.js');
const PEER_DIR = join(repo, 'bench', 'peers', 'nestjs-multitenant');
const PEER_MAIN = join(PEER_DIR, 'src', 'main.js');

/** `application_name` of the tenancy row's connections (its LISTEN connection: `…:listener`). */
const TENANCY_APP = 'bench:http-tenancy';
/** The tenancy app with `contextInterceptor: false`, and the tenancy app of another build (BENCH_HTTP_BASE_BUILD). */
const TENANCY_LEAN_APP = 'bench:http-tenancy-lean';
const TENANCY_BASE_APP = 'bench:http-tenancy-base';
/** The plain app routing by itself (no tenancy library) over the same tenants: the `plain-routed` row. */
const ROUTED_APP = 'bench:plain-routed';
const API_DATABASE = 'bench_http_api';
/**
 * Whose backends each row counts (peak conns, settle). The plain app and nestjs-multitenant have
 * a database each: everything in it. The reference API and the tenancy row share the API's
 * database (the same tenants), so they are told apart by `application_name`: the tenancy app's
 * names, and for the API (which hard-codes `tenantry-api`) everything else in its database.
 */
const BACKENDS = {
  reference: { database: API_DATABASE, exceptApps: [TENANCY_APP, TENANCY_LEAN_APP, TENANCY_BASE_APP, ROUTED_APP] },
  tenancy: { database: API_DATABASE, apps: [TENANCY_APP] },
  'tenancy-lean': { database: API_DATABASE, apps: [TENANCY_LEAN_APP] },
  'tenancy-base': { database: API_DATABASE, apps: [TENANCY_BASE_APP] },
  'plain-routed': { database: API_DATABASE, apps: [ROUTED_APP] },
  plain: { database: 'bench_http_plain', apps: ['bench:plain'] },
  'plain-als': { database: 'bench_http_plain', apps: ['bench:plain-als'] },
  'plain-interceptor': { database: 'bench_http_plain', apps: ['bench:plain-interceptor'] },
  'plain-als-interceptor': { database: 'bench_http_plain', apps: ['bench:plain-als-interceptor'] },
  'plain-full': { database: 'bench_http_plain', apps: ['bench:plain-full'] },
  'nestjs-multitenant': { database: 'bench_http_peer' },
} as const satisfies Record<string, BackendScope>;
type RowKey = keyof typeof BACKENDS;
const ROW_KEYS = Object.keys(BACKENDS) as RowKey[];
const PLAIN_SCHEMA = 'bench_plain';
/** The plain app's rows: the baseline, and the platform costs beside it (plain-app/main.ts). */
const PLAIN_VARIANTS = [
  ['plain', {}],
  ['plain-als', { PLAIN_ALS: '1' }],
  ['plain-interceptor', { PLAIN_INTERCEPTOR: '1' }],
  ['plain-als-interceptor', { PLAIN_ALS: '1', PLAIN_INTERCEPTOR: '1' }],
] as const satisfies readonly (readonly [RowKey, Readonly<Record<string, string>>])[];
/** Other load (cores, average over the rounds) above which a run is flagged NOISY, as in bench:uow. */
const NOISY_CORES = 0.15;
const READY = /listening on http:\/\/[^\s:]+:(\d+)/;

const pool = envInt('BENCH_HTTP_POOL', 10);
const config = {
  tenants: envInt('BENCH_TENANTS', 1000),
  postsPerTenant: envInt('BENCH_HTTP_POSTS', 3),
  connections: envInt('BENCH_HTTP_CONNECTIONS', 32),
  rounds: envInt('BENCH_HTTP_ROUNDS', 3),
  seconds: envInt('BENCH_HTTP_SECONDS', 5),
  leadInSeconds: envInt('BENCH_HTTP_LEAD_IN_SECONDS', 1, 0),
  warmupSeconds: envInt('BENCH_HTTP_WARMUP_SECONDS', 3, 0),
  warmupCycles: envInt('BENCH_HTTP_WARMUP_CYCLES', 3, 1),
  sweepCallers: envInt('BENCH_HTTP_SWEEP_CALLERS', pool),
  sweepMaxSeconds: envInt('BENCH_HTTP_SWEEP_MAX_SECONDS', 30),
  settleMaxSeconds: envInt('BENCH_HTTP_SETTLE_MAX_SECONDS', 15, 0),
  createConcurrency: envInt('BENCH_HTTP_CREATE_CONCURRENCY', 4),
  monitorMs: envInt('BENCH_MONITOR_MS', 100, 10),
  pool,
  apiLogLevel: process.env['BENCH_HTTP_API_LOG_LEVEL'] || 'silent',
  /** A checkout built before a change: its tenancy app is the `tenancy-base` row. */
  baseBuild: process.env['BENCH_HTTP_BASE_BUILD'] || undefined,
  /** Profile the servers under test (not the reference API) with `--cpu-prof` into this folder. */
  cpuProfileDir: process.env['BENCH_HTTP_CPU_PROF'] || undefined,
  /** Count the async resources per request of the servers under test (http-async-count.ts) into this folder. */
  asyncCountDir: process.env['BENCH_HTTP_ASYNC_COUNTS'] || undefined,
  rows: (process.env['BENCH_HTTP_ROWS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
};
const writeOutput = process.env['BENCH_OUTPUT'] !== '-';
const measure: MeasureOptions = config;

const LABELS: Record<RowKey, string> = {
  reference: 'reference API (apps/api, Tenantry), random tenant',
  tenancy: 'NestJS + @tenantry/nestjs only (header resolver, no auth), random tenant',
  'tenancy-lean': 'the same, contextInterceptor: false (no global interceptor; the guard checks the context)',
  'tenancy-base': 'the tenancy row from another build (BENCH_HTTP_BASE_BUILD), for a before/after',
  'plain-routed':
    "plain NestJS routing by itself: the tenancy row's tenants, each query in Tenantry's batch (reset, search_path + role, query) on a bare pg.Pool; no library, context or guard",
  plain: 'plain NestJS, one schema, no tenancy (baseline)',
  'plain-als': 'plain + one AsyncLocalStorage.run per request (the platform: promise hooks)',
  'plain-interceptor': "plain + a global no-op interceptor (Nest's RxJS interceptor path)",
  'plain-als-interceptor': 'plain + AsyncLocalStorage.run per request + a global no-op interceptor',
  'plain-full': "plain NestJS + the reference API's JWT guard, request logging and metrics, pipes and params DTO, one schema, no tenancy",
  'nestjs-multitenant': 'nestjs-multitenant 2.1.1 (TypeORM), random tenant',
};

function wanted(key: RowKey): boolean {
  if (key === 'tenancy-base' && config.baseBuild === undefined) return false;
  return config.rows.length === 0 || config.rows.includes(key);
}

/** `--cpu-prof` and the async-resource counter for a server under test, when their knobs name a folder. */
const profiled: readonly string[] = [
  ...(config.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${config.cpuProfileDir}`]),
  ...(config.asyncCountDir === undefined ? [] : ['--import', pathToFileURL(join(here, 'http-async-count.js')).href]),
];

/** Prints what http-async-count.ts wrote for each row's server: async resources per request, by type. */
function logAsyncCounts(dir: string, rows: readonly Row[]): void {
  log(`\nasync resources created per request (${dir}; promises, ticks, timers… from the first request on):`);
  for (const row of rows) {
    const file = join(dir, `${row.server.pid}.json`);
    if (!existsSync(file)) continue;
    const { requests, counts } = JSON.parse(readFileSync(file, 'utf8')) as { requests: number; counts: Record<string, number> };
    const per = Object.entries(counts)
      .filter(([, n]) => n / requests >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([type, n]) => `${type} ${(n / requests).toFixed(2)}`);
    log(`  ${row.key}: ${requests} requests; ${per.join(', ')}`);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

// ---------------------------------------------------------------------------------------------
// Setup

async function prepareDatabases(admin: pg.Client, keys: readonly RowKey[]): Promise<void> {
  for (const db of new Set([API_DATABASE, ...keys.map((k) => BACKENDS[k].database)])) {
    // The reference API's database is kept (an external server reuses its tenants, whose roles
    // are server-wide); the others are made afresh.
    if (db !== API_DATABASE) await admin.query(`drop database if exists ${quoteIdent(db)} with (force)`);
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [db]);
    if (rowCount === 0) await admin.query(`create database ${quoteIdent(db)}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  const keys = ROW_KEYS.filter(wanted);
  if (keys.length === 0) throw new Error(`BENCH_HTTP_ROWS names no row: use ${ROW_KEYS.join(', ')}`);
  const { url, server, version } = await benchServer();
  log(
    `bench:http — GET /posts/:id, ${config.tenants} tenants × ${config.postsPerTenant} posts, ${config.connections} connections, pool ${config.pool}, ${config.rounds} rounds × ${config.seconds} s (PostgreSQL ${version}${server ? `, embedded on port ${server.port}` : ''})`,
  );
  const servers: RunningServer[] = [];
  const load = new LoadGenerator();
  let monitor: ConnectionMonitor | undefined;
  const admin = new pg.Client({ connectionString: url, application_name: 'bench:setup' });
  await admin.connect();
  let adminOpen = true;
  const rows: Row[] = [];
  const skipped: Skipped[] = [];
  const newRow = (key: RowKey, srv: RunningServer, targets: LoadTarget[], negatives: [LoadTarget, number][]): Row => ({
    key,
    label: LABELS[key],
    backends: BACKENDS[key],
    mustSucceed: key !== 'nestjs-multitenant',
    server: srv,
    targets,
    sweep: sweepTargets(targets, config.postsPerTenant),
    negatives,
    rounds: [],
    cpu: [],
    db: [],
    peaks: [],
    peakByApp: new Map(),
    settleSeconds: [],
    failures: [],
  });
  try {
    log('setup:');
    const setupStarted = performance.now();
    await prepareDatabases(admin, keys);
    const ddl = postsDdl(POSTS_MIGRATION);

    // 1. The reference API creates the tenants and posts; their rows are the other rows' data.
    const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
    const api = await startServer({
      name: 'reference API',
      script: API_MAIN,
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl(url, API_DATABASE),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: config.apiLogLevel,
        TENANTRY_ADMIN_TOKEN: adminToken,
        TENANTRY_JWT_SECRET: randomBytes(48).toString('base64'),
        TENANTRY_POOL_MAX: String(config.pool),
        // Backends kept while the other rows run their rounds: a closed one would be reopened
        // cold (its catalog caches empty for 1,000 tenants) in the row's next unmeasured lead-in.
        TENANTRY_POOL_IDLE_MS: '3600000',
      },
      ready: READY,
    });
    servers.push(api);
    const tenants = await provisionReference(api.url, adminToken, {
      tenants: config.tenants,
      postsPerTenant: config.postsPerTenant,
      createConcurrency: config.createConcurrency,
    });
    const posts = tenants.flatMap((t) => t.posts);
    const refTargets = referenceTargets(tenants);
    if (wanted('reference')) {
      // Another tenant's post with this tenant's token: 404; this token for another tenant: 403.
      const negatives = crossTenant(refTargets, config.postsPerTenant, 20);
      for (const [t] of negatives.slice(0, 5)) {
        const owner = refTargets.find((x) => x.id === t.id)!;
        negatives.push([{ ...owner, headers: { ...owner.headers, 'x-tenant-id': t.headers['x-tenant-id']! } }, 403]);
      }
      rows.push(newRow('reference', api, refTargets, negatives));
    }

    const plainEnv = { NODE_ENV: 'production', NO_COLOR: '1', PLAIN_POOL_MAX: String(config.pool), PORT: '0' };

    // 2. The plain app in tenancy mode: the reference API's tenants, registry and rows (and
    // beside it the same without the context interceptor, and the same from another build).
    const tenancyRows = [
      ['tenancy', PLAIN_MAIN, { PLAIN_APPLICATION_NAME: TENANCY_APP }],
      ['tenancy-lean', PLAIN_MAIN, { PLAIN_APPLICATION_NAME: TENANCY_LEAN_APP, PLAIN_TENANCY_CONTEXT_INTERCEPTOR: '0' }],
      [
        'tenancy-base',
        join(resolve(config.baseBuild ?? repo), 'bench', 'dist', 'plain-app', 'main.js'),
        { PLAIN_APPLICATION_NAME: TENANCY_BASE_APP },
      ],
    ] as const;
    for (const [key, script, env] of tenancyRows) {
      if (!wanted(key)) continue;
      const tenancyApp = await startServer({
        name: `tenancy app (${key})`,
        script,
        execArgv: profiled,
        env: { ...plainEnv, ...env, PLAIN_TENANCY_REGISTRY_URL: databaseUrl(url, API_DATABASE) },
        ready: READY,
      });
      servers.push(tenancyApp);
      if (config.cpuProfileDir !== undefined) log(`  ${key}: pid ${tenancyApp.pid} (CPU profile in ${config.cpuProfileDir})`);
      const targets = tenancyTargets(tenants);
      // Another tenant's post: 404; no tenant header: 400 (TENANT_REQUIRED).
      const negatives = crossTenant(targets, config.postsPerTenant, 20);
      for (const [t] of negatives.slice(0, 5)) negatives.push([{ ...t, headers: {} }, 400]);
      rows.push(newRow(key, tenancyApp, targets, negatives));
    }

    // The plain app routing by itself over the same tenants (the floor of schema-per-tenant routing).
    if (wanted('plain-routed')) {
      const routedApp = await startServer({
        name: 'plain app (plain-routed)',
        script: PLAIN_MAIN,
        execArgv: profiled,
        env: { ...plainEnv, PLAIN_ROUTED: '1', DATABASE_URL: databaseUrl(url, API_DATABASE), PLAIN_APPLICATION_NAME: ROUTED_APP },
        ready: READY,
      });
      servers.push(routedApp);
      const targets = tenancyTargets(tenants);
      const negatives = crossTenant(targets, config.postsPerTenant, 20);
      for (const [t] of negatives.slice(0, 5)) negatives.push([{ ...t, headers: {} }, 400]);
      rows.push(newRow('plain-routed', routedApp, targets, negatives));
    }

    // 3. The plain app: the same rows in one schema.
    const plainUrl = databaseUrl(url, BACKENDS.plain.database);
    if (PLAIN_VARIANTS.some(([k]) => wanted(k)) || wanted('plain-full')) {
      await provisionPlain(plainUrl, PLAIN_SCHEMA, ddl, posts);
      log(`  plain app: ${posts.length} posts in schema ${PLAIN_SCHEMA}`);
    }
    // The plain app, and beside it the same app with the platform costs any per-request
    // AsyncLocalStorage context (and any global interceptor) brings, without Tenantry.
    for (const [key, variant] of PLAIN_VARIANTS) {
      if (!wanted(key)) continue;
      const plain = await startServer({
        name: `plain app (${key})`,
        script: PLAIN_MAIN,
        execArgv: profiled,
        env: { ...plainEnv, ...variant, DATABASE_URL: plainUrl, PLAIN_SCHEMA, PLAIN_APPLICATION_NAME: BACKENDS[key].apps[0] },
        ready: READY,
      });
      servers.push(plain);
      if (config.cpuProfileDir !== undefined) log(`  ${key}: pid ${plain.pid} (CPU profile in ${config.cpuProfileDir})`);
      rows.push(
        newRow(
          key,
          plain,
          postTargets(tenants, () => ({})),
          [],
        ),
      );
    }

    // 3b. The plain app with the reference API's JWT guard, request logging and validation: the
    // row the reference API's ratio is measured against (what it pays for tenancy alone).
    if (wanted('plain-full')) {
      const secret = randomBytes(48);
      const tokens = tokenService(secret);
      const plainFull = await startServer({
        name: 'plain app (JWT, logging, validation)',
        script: PLAIN_MAIN,
        env: {
          ...plainEnv,
          DATABASE_URL: plainUrl,
          PLAIN_SCHEMA,
          PLAIN_APPLICATION_NAME: 'bench:plain-full',
          PLAIN_JWT_SECRET: secret.toString('base64'),
          LOG_LEVEL: config.apiLogLevel,
        },
        ready: READY,
      });
      servers.push(plainFull);
      const bearer = new Map<string, string>();
      for (const t of tenants) bearer.set(t.id, `Bearer ${(await tokens.issue(t.id, 'user:bench', 24 * 3600)).token}`);
      rows.push(
        newRow(
          'plain-full',
          plainFull,
          postTargets(tenants, (t) => ({ authorization: bearer.get(t.id)! })),
          [],
        ),
      );
    }

    // 4. nestjs-multitenant, in its own npm project; skipped with the reason when it cannot run.
    if (wanted('nestjs-multitenant')) {
      const peerUrl = databaseUrl(url, BACKENDS['nestjs-multitenant'].database);
      const peerEnv = { NODE_ENV: 'production', NO_COLOR: '1', DATABASE_URL: peerUrl, PORT: '0', PGAPPNAME: 'bench:nestjs-multitenant' };
      let peer: RunningServer | undefined;
      try {
        const reason = ensurePeerInstalled(PEER_DIR);
        if (reason !== undefined) throw new Error(reason);
        // First start with synchronize (the README's development setting): it creates the
        // package's public.tenants table; tenants are created through its admin route.
        const setupPeer = await startServer({
          name: 'nestjs-multitenant (setup)',
          script: PEER_MAIN,
          cwd: PEER_DIR,
          env: { ...peerEnv, PEER_SYNCHRONIZE: '1' },
          ready: READY,
        });
        try {
          await createPeerTenants(setupPeer.url, config.tenants, config.createConcurrency);
        } finally {
          await setupPeer.stop();
        }
        await fillPeerTenants(peerUrl, ddl, tenants, config.createConcurrency);
        peer = await startServer({ name: 'nestjs-multitenant', script: PEER_MAIN, cwd: PEER_DIR, env: peerEnv, ready: READY });
        servers.push(peer);
        const targets = peerTargets(tenants);
        rows.push(newRow('nestjs-multitenant', peer, targets, crossTenant(targets, config.postsPerTenant, 20)));
      } catch (err) {
        await peer?.stop();
        const reason = errorMessage(err).split('\n').slice(0, 4).join(' | ');
        skipped.push({ key: 'nestjs-multitenant', label: LABELS['nestjs-multitenant'], skipped: reason });
        log(`  ! nestjs-multitenant skipped: ${reason}`);
      }
    }
    if (!wanted('reference')) {
      // It served as the data source only (the tenancy app reads the registry, not the API).
      await api.stop();
      servers.splice(servers.indexOf(api), 1);
    }
    await admin.query('checkpoint');
    const backend = (await admin.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const postmaster = postmasterOf(backend);
    await admin.end();
    adminOpen = false;
    log(`setup done in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);

    monitor = await ConnectionMonitor.open(url);
    const mon = monitor;
    const cpuMeter = new CpuMeter([process.pid, load.pid, ...servers.map((s) => s.pid)], postmaster);
    /** Warms up `phase`'s rows, then measures them in alternating rounds: A, B, C, A, B, C, … */
    const measurePhase = async (phase: typeof rows): Promise<void> => {
      // Warm-up: a sample check and a sweep over all tenants per row, then load in alternating
      // cycles (A, B, C, A, B, C…), as the rounds run: no row sits idle for longer than the
      // others' turns. Run one row after the other, the first row's pool sat idle through the
      // others' warm-ups (≈ 45 s, over the 30 s idle timeout): its backends were closed, and
      // its first round ran on new backends with cold catalog caches (1,000 schemas to look up
      // again, ≈ 1–2 ms of PostgreSQL CPU each per backend) — the reference row's PostgreSQL
      // CPU per request fell round after round (2,978 → 1,628 → 1,012 µs).
      log('warm-up:');
      for (const row of phase) {
        await load.load(row.key, row.targets);
        await settle(mon, rows, measure);
        const started = performance.now();
        await checkSample(row);
        await sweep(row, measure);
        log(
          `  ${row.key}: ${row.warmup!.sweepRequests} sweep requests in ${row.warmup!.sweepSeconds} s${row.warmup!.sweepCapped ? ' (capped)' : ''} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
        );
      }
      for (let cycle = 0; config.warmupSeconds > 0 && cycle < config.warmupCycles; cycle++) {
        for (const row of phase) {
          await settle(mon, rows, measure);
          const before = cpuMeter.read(row.server.pid);
          const w = await load.run(row.key, row.server.url, {
            connections: config.connections,
            seconds: config.warmupSeconds,
            leadInSeconds: 0,
          });
          const used = cpuMeter.between(before, cpuMeter.read(row.server.pid), w.responses);
          row.warmup!.load = w;
          const failure = describeFailures(w);
          if (failure !== undefined) fail(row, `warm-up load: ${failure}`);
          const pgUs = used.postgresUsPerRequest === undefined ? '' : `, pg ${used.postgresUsPerRequest} µs/req`;
          log(
            `  warm-up ${cycle + 1}/${config.warmupCycles} ${row.key}: ${config.warmupSeconds} s of load, ${w.reqPerSec.toFixed(0)} req/s, server ${used.serverUsPerRequest} µs/req${pgUs}`,
          );
        }
      }
      log(`measuring ${config.rounds} rounds × ${config.seconds} s per row (after ${config.leadInSeconds} s of unmeasured load each)…`);
      for (let i = 0; i < config.rounds; i++) {
        for (const row of phase) {
          row.settleSeconds.push(round1(await settle(mon, rows, measure)));
          const { result, peak, cpu: used, db } = await measureRound(row, load, mon, cpuMeter, config.seconds, measure);
          row.rounds.push(result);
          row.cpu.push(used);
          row.db.push(db);
          row.peaks.push(peak);
          const failure = describeFailures(result);
          if (failure !== undefined) fail(row, `round ${i + 1}: ${failure}`);
          const pgUs = used.postgresUsPerRequest === undefined ? '' : `, pg ${used.postgresUsPerRequest} µs/req`;
          const other = used.otherCores === undefined ? '' : `, other load ${used.otherCores.toFixed(2)} cores`;
          log(
            `  round ${i + 1} ${row.key}: ${result.reqPerSec.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, peak ${peak} conns, server ${used.serverUsPerRequest} µs/req${pgUs}, ${db.transactionsPerRequest} pg xacts/req, ${db.backendsOpened} backends opened${other}`,
          );
        }
      }
    };
    // The peer last, on its own: under load it leaks connections (and the memory and CPU of
    // their backends) for a minute, which would weigh on whichever row came after it.
    await measurePhase(rows.filter((r) => r.key !== 'nestjs-multitenant'));
    const peerRows = rows.filter((r) => r.key === 'nestjs-multitenant');
    if (peerRows.length > 0) {
      log('nestjs-multitenant, after the others (its leaks would weigh on the rows after it):');
      await measurePhase(peerRows);
    }

    // Report
    const plainRow = rows.find((r) => r.key === 'plain');
    const plainRate = plainRow === undefined ? undefined : plainRow.rounds[medianIndex(plainRow.rounds)]!.reqPerSec;
    const fullRow = rows.find((r) => r.key === 'plain-full');
    const fullRate = fullRow === undefined ? undefined : fullRow.rounds[medianIndex(fullRow.rounds)]!.reqPerSec;
    const results = [
      ...rows.map((row) => {
        const mi = medianIndex(row.rounds);
        const m = row.rounds[mi]!;
        const cpu = row.cpu[mi]!;
        const notOk = row.rounds.reduce((n, r) => n + r.non2xx + r.errors + r.mismatches, 0);
        return {
          key: row.key,
          label: row.label,
          reqPerSec: Math.round(m.reqPerSec),
          p50Ms: m.p50Ms,
          p99Ms: m.p99Ms,
          peakConnections: Math.max(...row.peaks),
          vsPlain: plainRate === undefined ? null : Math.round((m.reqPerSec / plainRate) * 100) / 100,
          /** The reference API against the plain app with its JWT, logging and validation (goal ≥ 0.85). */
          vsPlainFull: row.key !== 'reference' || fullRate === undefined ? null : Math.round((m.reqPerSec / fullRate) * 100) / 100,
          errors: notOk,
          ...(row.failures.length === 0
            ? {}
            : { failed: `${row.failures.join('; ')}${row.serverError === undefined ? '' : `; the server logged: ${row.serverError}`}` }),
          serverCpuUsPerRequest: cpu.serverUsPerRequest,
          postgresCpuUsPerRequest: cpu.postgresUsPerRequest ?? null,
          peakConnectionsByApplicationName: Object.fromEntries(row.peakByApp),
          settleSeconds: row.settleSeconds,
          warmup: row.warmup,
          rounds: row.rounds.map((r, i) => ({ ...r, peakConnections: row.peaks[i], cpu: row.cpu[i], database: row.db[i] })),
        };
      }),
      ...skipped.map((s) => ({
        key: s.key,
        label: s.label,
        reqPerSec: null,
        p50Ms: null,
        p99Ms: null,
        peakConnections: null,
        vsPlain: null,
        skipped: s.skipped,
      })),
    ];
    log('');
    log('| row | req/s | p50 ms | p99 ms | errors | peak conns | vs plain | server µs/req | pg µs/req |');
    log('|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      if ('skipped' in r) {
        log(`| ${r.label} | skipped: ${r.skipped} | | | | | | | |`);
        continue;
      }
      const errors = r.errors === 0 ? '0' : `${r.errors} ✗`;
      const pgUs = r.postgresCpuUsPerRequest === null ? '—' : String(r.postgresCpuUsPerRequest);
      log(
        `| ${r.label} | ${r.reqPerSec} | ${r.p50Ms} | ${r.p99Ms} | ${errors} | ${r.peakConnections} | ${r.vsPlain === null ? '—' : r.vsPlain.toFixed(2)} | ${r.serverCpuUsPerRequest} | ${pgUs} |`,
      );
    }
    for (const r of results) if ('failed' in r && r.failed !== undefined) log(`\n${r.key} FAILED under load: ${r.failed}`);
    const ref = results.find((r) => r.key === 'reference' && !('skipped' in r));
    const tenancyRow = results.find((r) => r.key === 'tenancy' && !('skipped' in r));
    if (tenancyRow !== undefined && 'vsPlain' in tenancyRow && tenancyRow.vsPlain !== null)
      log(`\ntenancy row vs plain: ${tenancyRow.vsPlain.toFixed(2)}× (goal ≥ 0.90) ${tenancyRow.vsPlain >= 0.9 ? '✓' : '✗'}`);
    const routedRow = results.find((r) => r.key === 'plain-routed' && !('skipped' in r));
    if (tenancyRow !== undefined && routedRow !== undefined && 'reqPerSec' in tenancyRow && 'reqPerSec' in routedRow) {
      const t = tenancyRow.reqPerSec ?? 0;
      const f = routedRow.reqPerSec ?? 0;
      if (t > 0 && f > 0)
        log(
          `tenancy row vs plain-routed (the same app routing each query itself, no library: the floor of schema-per-tenant routing): ${(t / f).toFixed(2)}×; plain-routed vs plain: ${routedRow.vsPlain?.toFixed(2) ?? '—'}×`,
        );
    }
    if (ref !== undefined && 'vsPlainFull' in ref && ref.vsPlainFull !== null)
      log(
        `reference API vs plain + JWT, logging, validation: ${ref.vsPlainFull.toFixed(2)}× (goal ≥ 0.85) ${ref.vsPlainFull >= 0.85 ? '✓' : '✗'}`,
      );
    log('');
    log(
      'req/s: 2xx responses per second, median round; p50/p99: that round (autocannon, 1 ms resolution); errors: non-2xx + connection errors + wrong bodies over all rounds;',
    );
    log(
      `peak conns: most backends of the server in pg_stat_activity during its rounds (polled every ${config.monitorMs} ms): its database's, and in ${API_DATABASE} by application_name (${TENANCY_APP}* for the tenancy row, every other for the reference API);`,
    );
    log('server / pg µs/req: CPU of the server process / of every PostgreSQL process in that round ÷ its responses.');
    log(
      "pg xacts/req, backends opened (round lines): transactions (one per Sync) and sessions the row's database counted in pg_stat_database during the round (flushed by backends at most once a second).",
    );
    const other = rows.flatMap((r) => r.cpu.map((c) => c.otherCores)).filter((x): x is number => x !== undefined);
    const otherAverage = other.length === 0 ? undefined : other.reduce((a, b) => a + b, 0) / other.length;
    const noisy = otherAverage !== undefined && otherAverage > NOISY_CORES;
    if (otherAverage !== undefined) {
      log(
        `other load during the rounds: ${otherAverage.toFixed(2)} cores on average, ${Math.max(...other).toFixed(2)} at most${noisy ? ` — NOISY (over ${NOISY_CORES}): other work competed for the CPU; re-run on a quiet machine before trusting the ratios` : ''}.`,
      );
    }
    const data = {
      benchmark: 'http',
      date: new Date().toISOString(),
      machine: machine(version),
      otherLoadCores: otherAverage === undefined ? null : Math.round(otherAverage * 100) / 100,
      noisy,
      config: {
        ...config,
        rows: keys,
        backends: BACKENDS,
        server: server ? 'embedded' : 'TENANTRY_BENCH_DATABASE_URL',
        totalSeconds: Math.round((performance.now() - began) / 1000),
      },
      rows: results,
    };
    if (writeOutput) log(`\nwritten to ${writeResult('http', data)}`);
    log(`bench:http took ${Math.round((performance.now() - began) / 1000)} s`);
  } finally {
    await load.close().catch(() => undefined);
    await monitor?.close().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    if (config.asyncCountDir !== undefined) logAsyncCounts(config.asyncCountDir, rows);
    if (adminOpen) await admin.end().catch(() => undefined);
    await server?.stop();
  }
}

runBench('bench:http', main);
