/**
 * `npm run bench:move`: moving one tenant of TENANTRY_BENCH_MB (default 100) MB between two
 * PostgreSQL servers, beside a bare binary `COPY … TO STDOUT` piped into `COPY … FROM STDIN`
 * between the same servers, in one run. Besides the move as a whole it reports rows that isolate
 * each part of its cost: the source side alone (COPY to a null stream, the backup to a null
 * stream, a backup's fixed cost on an empty tenant), Node's share (sha256 and archive framing
 * over the same bytes), the target side alone (COPY into the table without its primary key, the
 * key built after, a restore from an archive held in memory), and the move's own steps as its
 * `onStep` hook saw them. After an untimed warm-up (JIT, caches), the bare COPY and the move run
 * TENANTRY_BENCH_ROUNDS (default 3) times, alternating directions; the table shows medians.
 * Last, an online move (both servers run with wal_level = logical) while four writers insert:
 * its duration and the write pause (p50/max of the units of work that waited at the cutover).
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createTenancy, migrationList, type MobilityStep } from '@tenantry/core';
import { startEmbeddedServer } from '@tenantry/testing';
import { envInt, log } from './bench-env.js';

const MB = envInt('TENANTRY_BENCH_MB', 100);
const ROUNDS = envInt('TENANTRY_BENCH_ROUNDS', 3);
const migrations = migrationList([
  {
    name: '0001_rows',
    up: 'create table rows (id bigserial primary key, payload text not null, doc jsonb, at timestamptz not null default now())',
  },
]);

async function sizeOf(url: string, relation: string): Promise<number> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return Number((await c.query('select pg_total_relation_size($1::regclass) as n', [relation])).rows[0].n);
  } finally {
    await c.end();
  }
}

/** A writable that drops what it is given, or keeps it in `kept`. */
function sink(kept?: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 4 * 1024 * 1024,
    write(chunk: Buffer, _e, cb) {
      kept?.push(chunk);
      cb();
    },
  });
}

/** CPU ms of a PostgreSQL server: its postmaster, the children it reaped, and those alive (Linux /proc). */
function serverCpuMs(dataDir: string): number {
  try {
    const pm = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
    const ticks = (pid: string, withChildren: boolean): { ppid: string; t: number } => {
      // Fields after the command name, which is in parentheses and may hold spaces.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const t = Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
      return { ppid: f[1]!, t };
    };
    let total = ticks(pm, true).t;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || pid === pm) continue;
      try {
        const s = ticks(pid, false);
        if (s.ppid === pm) total += s.t;
      } catch {
        // Gone meanwhile: its time is in the postmaster's children's.
      }
    }
    return total * 10;
  } catch {
    return Number.NaN;
  }
}

interface Cost {
  readonly ms: number;
  /** CPU ms of this process, and of the two PostgreSQL servers. */
  readonly node: number;
  readonly pg: number;
}

let serverDirs: string[] = [];
const pgCpu = (): number => serverDirs.reduce((n, d) => n + serverCpuMs(d), 0);

async function timed<T>(fn: () => Promise<T>): Promise<[Cost, T]> {
  const cpu = process.cpuUsage();
  const pgBefore = pgCpu();
  const started = performance.now();
  const value = await fn();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return [{ ms, node: (used.user + used.system) / 1000, pg: pgCpu() - pgBefore }, value];
}

// wal_level = logical on both: the online move at the end replicates (the offline rows are unaffected).
const FLAGS = ['-c', 'max_connections=100', '-c', 'wal_level=logical'];
const a = await startEmbeddedServer({ postgresFlags: FLAGS });
const b = await startEmbeddedServer({ postgresFlags: FLAGS });
serverDirs = [a.dataDir, b.dataDir];
try {
  const tenancy = await createTenancy({ registryUrl: a.url, migrations, encryptionKey: randomBytes(32).toString('hex') });
  await tenancy.servers.add({ id: 'b', url: b.url });
  const tenant = await tenancy.tenants.create({ slug: 'big', name: 'Big', server: 'default' });
  await tenancy.tenants.create({ slug: 'empty', name: 'Empty', server: 'default' });
  // ≈ 1 KB a row.
  const rows = MB * 1024;
  await tenancy.withTenant('big', (db) =>
    db.query(
      `insert into rows (payload, doc) select repeat(md5(g::text), 24), jsonb_build_object('g', g, 'tags', jsonb_build_array('a', 'b', g)) from generate_series(1, $1::int) g`,
      [rows],
    ),
  );
  // Statistics, as autovacuum gathers them after an insert this size (a move reads them to keep keys in key order).
  await tenancy.withTenant('big', (db) => db.query('analyze rows'));
  const table = `${tenant.physicalName}.rows`;
  const bytes = await sizeOf(a.url, table);
  const mb = bytes / 1024 / 1024;
  log(`tenant: ${rows} rows, ${mb.toFixed(1)} MB on disk (table and index); PostgreSQL servers on this machine`);
  log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );

  const urlOf = (server: string): string => (server === 'b' ? b.url : a.url);
  const columns = '(id, payload, doc, at)';

  /** A bare binary COPY of the tenant's table from where it is now to the other server, into `target` (made first). */
  async function bareCopy(target: string, key: boolean): Promise<Cost> {
    const t = await tenancy.tenants.get('big');
    const src = new pg.Client(urlOf(t.server));
    const dst = new pg.Client(urlOf(t.server === 'b' ? 'default' : 'b'));
    await src.connect();
    await dst.connect();
    try {
      await dst.query(`drop table if exists ${target}`);
      await dst.query(
        `create table ${target} (id bigint ${key ? 'primary key' : 'not null'}, payload text not null, doc jsonb, at timestamptz not null)`,
      );
      const [cost] = await timed(() =>
        pipeline(
          src.query(copyTo(`copy ${t.physicalName}.rows ${columns} to stdout (format binary)`)),
          dst.query(copyFrom(`copy ${target} ${columns} from stdin (format binary)`)),
        ),
      );
      return cost;
    } finally {
      await src.end();
      await dst.end();
    }
  }

  // Warm-up, untimed: the JIT and both servers' caches, so that neither side of the comparison pays them.
  await bareCopy('warm_rows', true);
  await tenancy.mobility.backup('big', sink());

  // The parts, once each.
  const src = new pg.Client(a.url);
  const dst = new pg.Client(b.url);
  await src.connect();
  await dst.connect();
  const copyBytes: Buffer[] = [];
  const [outCost] = await timed(() => pipeline(src.query(copyTo(`copy ${table} ${columns} to stdout (format binary)`)), sink(copyBytes)));
  const copyMb = copyBytes.reduce((n, c) => n + c.length, 0) / 1024 / 1024;
  await dst.query('create table bare_nokey (id bigint not null, payload text not null, doc jsonb, at timestamptz not null)');
  const [inCost] = await timed(() =>
    pipeline(Readable.from(copyBytes), dst.query(copyFrom(`copy bare_nokey ${columns} from stdin (format binary)`))),
  );
  const [keyCost] = await timed(() => dst.query('alter table bare_nokey add primary key (id)'));
  const [shaCost] = await timed(async () => {
    const h = createHash('sha256');
    for (const c of copyBytes) h.update(c);
    return h.digest('hex');
  });
  copyBytes.length = 0;
  await dst.query('drop table bare_nokey, warm_rows');
  await src.end();
  await dst.end();

  const [backupCost] = await timed(() => tenancy.mobility.backup('big', sink()));
  const [emptyCost] = await timed(() => tenancy.mobility.backup('empty', sink()));
  const archive: Buffer[] = [];
  await tenancy.mobility.backup('big', sink(archive));
  const archiveMb = archive.reduce((n, c) => n + c.length, 0) / 1024 / 1024;
  const [restoreCost] = await timed(() => tenancy.mobility.restore(Readable.from(archive), { slug: 'big-restored', server: 'b' }));
  archive.length = 0;
  await tenancy.tenants.delete('big-restored').catch(() => undefined);

  // Rounds: a bare COPY, then the move, the same way (A → B, then B → A, …); medians.
  type Step = MobilityStep | 'start';
  const spans: [string, Step, MobilityStep][] = [
    ['suspend (registry)', 'start', 'suspended'],
    ['drift check, snapshot, staging copy registered', 'suspended', 'staging-registered'],
    ['staging container and its migrations', 'staging-registered', 'container-created'],
    ['COPY streamed, checksummed on both sides', 'container-created', 'table-loaded'],
    ['sequences, indexes and keys built, verified', 'table-loaded', 'data-verified'],
    ['commit, registry switch', 'data-verified', 'switched'],
    ['old copy dropped', 'switched', 'old-copy-dropped'],
  ];
  const bares: Cost[] = [];
  const moves: Cost[] = [];
  const pauses: number[] = [];
  const spanMs: number[][] = spans.map(() => []);
  const ratios: number[] = [];
  const ratioLabels: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await bareCopy('bare_rows', true);
    const steps: { step: Step; at: number }[] = [];
    const to = (await tenancy.tenants.get('big')).server === 'b' ? 'default' : 'b';
    const [cost, move] = await timed(() => {
      steps.push({ step: 'start', at: performance.now() });
      return tenancy.mobility.move(
        'big',
        { server: to, retainHours: 0, online: false },
        { onStep: (step) => void steps.push({ step, at: performance.now() }) },
      );
    });
    const at = (step: Step): number | undefined => steps.filter((x) => x.step === step).at(-1)?.at;
    spans.forEach(([, from, until], i) => {
      const f = at(from);
      const u = at(until);
      // A schema moved into the registry's database is created and loaded in one transaction: no 'container-created'.
      spanMs[i]!.push(f === undefined || u === undefined ? Number.NaN : u - f);
    });
    // Untimed: the statistics autovacuum would gather on the new copy before long.
    await tenancy.withTenant('big', (db) => db.query('analyze rows'));
    bares.push(bare);
    moves.push(cost);
    pauses.push(move.pauseMs);
    ratios.push(bare.ms / cost.ms);
    ratioLabels.push(`${(bare.ms / cost.ms).toFixed(2)} (${to === 'b' ? 'A → B' : 'B → A'})`);
  }
  const median = (xs: readonly number[]): number => {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
    if (v.length === 0) return Number.NaN;
    return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const medianCost = (cs: readonly Cost[]): Cost => ({
    ms: median(cs.map((c) => c.ms)),
    node: median(cs.map((c) => c.node)),
    pg: median(cs.map((c) => c.pg)),
  });
  const bareCost = medianCost(bares);
  const moveCost = medianCost(moves);

  const rate = (ms: number): string => `${((mb / ms) * 1000).toFixed(1)} MB/s`;
  const vs = (ms: number): string => (bareCost.ms / ms).toFixed(2);
  const n = (v: number): string => (Number.isNaN(v) ? '–' : `${Math.round(v).toLocaleString('en-US')} ms`);
  const row = (what: string, cost: Cost | number, throughput = true): void => {
    const c = typeof cost === 'number' ? undefined : cost;
    const ms = typeof cost === 'number' ? cost : cost.ms;
    log(
      `| ${what} | ${n(ms)} | ${throughput ? rate(ms) : ''} | ${throughput ? vs(ms) : ''} | ${c ? n(c.node) : ''} | ${c ? n(c.pg) : ''} |`,
    );
  };
  log();
  log(`COPY data: ${copyMb.toFixed(1)} MB; archive: ${archiveMb.toFixed(1)} MB; ${ROUNDS} round(s), medians`);
  log();
  log('| what | time | throughput | vs bare COPY | Node CPU | PostgreSQL CPU (A + B) |');
  log('|---|---|---|---|---|---|');
  row('bare COPY TO → COPY FROM between the servers (primary key maintained)', bareCost);
  row('  source alone: COPY TO a null stream', outCost);
  row('  target alone: COPY FROM memory into the table without its key', inCost);
  row('  target alone: the primary key built after', keyCost, false);
  row('  Node alone: sha256 over the COPY bytes', shaCost, false);
  row('mobility.backup to a null stream (drift check, snapshot, COPY, framing, sha256)', backupCost);
  row('  of which fixed: mobility.backup of an empty tenant', emptyCost, false);
  row('mobility.restore from memory into a new tenant on B (provision, load, keys, verify, activate)', restoreCost);
  row('mobility.move between the servers (drift check, copy, verify, switch, drop)', moveCost);
  spans.forEach(([what], i) => row(`  ${what}`, median(spanMs[i]!), false));
  row('  of which the tenant was suspended (offline move pause)', median(pauses), false);
  log();
  // The bare COPY and the move of one round run back to back, under the same load: their ratio is
  // the figure; the medians of the times above come from different rounds.
  log(`move vs bare COPY, median of the rounds: ${median(ratios).toFixed(2)}; each round: ${ratioLabels.join(', ')}`);

  // Online, with writers: each unit of work's latency; those that waited at the cutover stand out.
  let stop = false;
  const latencies: number[] = [];
  const writers = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const t0 = performance.now();
      await tenancy.withTenant('big', (db) => db.query(`insert into rows (payload) values ('w')`));
      latencies.push(performance.now() - t0);
    }
  });
  const onlineTo = (await tenancy.tenants.get('big')).server === 'b' ? 'default' : 'b';
  const online = await tenancy.mobility.move('big', { server: onlineTo, retainHours: 0, online: true });
  stop = true;
  await Promise.all(writers);
  const waited = latencies.filter((ms) => ms > 50).sort((x, y) => x - y);
  log();
  log(
    `online move (logical replication, 4 writers inserting): ${n(online.durationMs)} in all (${vs(online.durationMs)} of the bare COPY's time, the tenant serving throughout); the cutover held new work ${n(online.pauseMs)}; units of work that waited (> 50 ms) of ${latencies.length}: ${waited.length}, p50 ${n(waited[Math.floor(waited.length / 2)] ?? 0)}, max ${n(waited.at(-1) ?? 0)} (goal: pause ≤ 1 s)`,
  );
  log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  await tenancy.close();
} finally {
  await a.stop();
  await b.stop();
}
