/**
 * `npm run bench:move`: moving one tenant of TENANTRY_BENCH_MB (default 100) MB between two
 * PostgreSQL servers, beside a bare binary `COPY … TO STDOUT` piped into `COPY … FROM STDIN`
 * between the same servers, in one run. Besides the move as a whole it reports rows that isolate
 * each part of its cost: the source side alone (COPY to a null stream, the backup to a null
 * stream, a backup's fixed cost on an empty tenant), Node's share (sha256 and archive framing
 * over the same bytes), the target side alone (COPY into the table without its primary key, the
 * key built after, a restore from an archive held in memory), and the move's own steps as its
 * `onStep` hook saw them.
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

const a = await startEmbeddedServer({ postgresFlags: ['-c', 'max_connections=100'] });
const b = await startEmbeddedServer({ postgresFlags: ['-c', 'max_connections=100'] });
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
  const table = `${tenant.physicalName}.rows`;
  const bytes = await sizeOf(a.url, table);
  const mb = bytes / 1024 / 1024;
  log(`tenant: ${rows} rows, ${mb.toFixed(1)} MB on disk (table and index); PostgreSQL servers on this machine`);
  log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );

  // Bare COPY between the same servers.
  const src = new pg.Client(a.url);
  const dst = new pg.Client(b.url);
  await src.connect();
  await dst.connect();
  const copyOut = `copy ${table} (id, payload, doc, at) to stdout (format binary)`;
  await dst.query('create table bare_rows (id bigint primary key, payload text not null, doc jsonb, at timestamptz not null)');
  await dst.query('create table bare_nokey (id bigint not null, payload text not null, doc jsonb, at timestamptz not null)');
  const [bareCost] = await timed(() =>
    pipeline(src.query(copyTo(copyOut)), dst.query(copyFrom('copy bare_rows (id, payload, doc, at) from stdin (format binary)'))),
  );
  // The source side alone; the COPY bytes are kept for the Node-side rows.
  const copyBytes: Buffer[] = [];
  const [outCost] = await timed(() => pipeline(src.query(copyTo(copyOut)), sink(copyBytes)));
  const copyMb = copyBytes.reduce((n, c) => n + c.length, 0) / 1024 / 1024;
  // The target side alone, from memory: the COPY without the key, then the key built.
  const [inCost] = await timed(() =>
    pipeline(Readable.from(copyBytes), dst.query(copyFrom('copy bare_nokey (id, payload, doc, at) from stdin (format binary)'))),
  );
  const [keyCost] = await timed(() => dst.query('alter table bare_nokey add primary key (id)'));
  // Node's share: sha256 over the COPY bytes.
  const [shaCost] = await timed(async () => {
    const h = createHash('sha256');
    for (const c of copyBytes) h.update(c);
    return h.digest('hex');
  });
  copyBytes.length = 0;
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

  const steps: { step: MobilityStep | 'start'; at: number }[] = [];
  const [moveCost, move] = await timed(() => {
    steps.push({ step: 'start', at: performance.now() });
    return tenancy.mobility.move(
      'big',
      { server: 'b', retainHours: 0 },
      {
        onStep: (step) => {
          steps.push({ step, at: performance.now() });
        },
      },
    );
  });
  const lastOf = (step: MobilityStep | 'start'): number => steps.filter((s) => s.step === step).at(-1)!.at;
  const span = (from: MobilityStep | 'start', to: MobilityStep): number => lastOf(to) - lastOf(from);

  const bare = bareCost.ms;
  const rate = (ms: number): string => `${((mb / ms) * 1000).toFixed(1)} MB/s`;
  const vs = (ms: number): string => (bare / ms).toFixed(2);
  const n = (v: number): string => `${Math.round(v).toLocaleString('en-US')} ms`;
  const row = (what: string, cost: Cost | number, throughput = true): void => {
    const c = typeof cost === 'number' ? undefined : cost;
    const ms = typeof cost === 'number' ? cost : cost.ms;
    log(
      `| ${what} | ${n(ms)} | ${throughput ? rate(ms) : ''} | ${throughput ? vs(ms) : ''} | ${c ? n(c.node) : ''} | ${c ? n(c.pg) : ''} |`,
    );
  };
  log();
  log(`COPY data: ${copyMb.toFixed(1)} MB; archive: ${archiveMb.toFixed(1)} MB`);
  log();
  log('| what | time | throughput | vs bare COPY | Node CPU | PostgreSQL CPU (A + B) |');
  log('|---|---|---|---|---|---|');
  row('bare COPY TO → COPY FROM, server A → B (primary key maintained)', bareCost);
  row('  source alone: COPY TO a null stream', outCost);
  row('  target alone: COPY FROM memory into the table without its key', inCost);
  row('  target alone: the primary key built after', keyCost, false);
  row('  Node alone: sha256 over the COPY bytes', shaCost, false);
  row('mobility.backup to a null stream (drift check, snapshot, COPY, framing, sha256)', backupCost);
  row('  of which fixed: mobility.backup of an empty tenant', emptyCost, false);
  row('mobility.restore from memory into a new tenant on B (provision, load, key, verify, activate)', restoreCost);
  row('mobility.move A → B (drift check, copy, verify, switch, drop)', moveCost);
  row('  suspend (registry)', span('start', 'suspended'), false);
  row('  drift check, snapshot, staging registered', span('suspended', 'staging-registered'), false);
  row('  staging container and its migrations on B', span('staging-registered', 'container-created'), false);
  row('  COPY streamed A → B, checksummed', span('container-created', 'table-loaded'), false);
  row('  sequences, indexes and keys rebuilt, verified', span('table-loaded', 'data-verified'), false);
  row('  commit, registry switch', span('data-verified', 'switched'), false);
  row('  old copy dropped', span('switched', 'old-copy-dropped'), false);
  row('  of which the tenant was suspended (offline move pause)', move.pauseMs, false);
  log();
  log(
    `move vs bare COPY: ${vs(moveCost.ms)}; load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  await tenancy.close();
} finally {
  await a.stop();
  await b.stop();
}
