/**
 * `npm run bench:move`: moving one tenant of TENANTRY_BENCH_MB (default 100) MB between two
 * PostgreSQL servers, beside a bare binary `COPY … TO STDOUT` piped into `COPY … FROM STDIN`
 * between the same servers, in one run. Reports the copy throughput of each, the backup alone
 * (to a null stream), the offline move's pause (how long the tenant was suspended), and an
 * online move back (logical replication; both servers run with wal_level = logical) with writers
 * inserting throughout: its duration and the write pause (p50/max of the units of work that waited
 * at the cutover).
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createTenancy, migrationList } from '@tenantry/core';
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

const FLAGS = ['-c', 'max_connections=100', '-c', 'wal_level=logical'];
const a = await startEmbeddedServer({ postgresFlags: FLAGS });
const b = await startEmbeddedServer({ postgresFlags: FLAGS });
try {
  const tenancy = await createTenancy({ registryUrl: a.url, migrations, encryptionKey: randomBytes(32).toString('hex') });
  await tenancy.servers.add({ id: 'b', url: b.url });
  const tenant = await tenancy.tenants.create({ slug: 'big', name: 'Big', server: 'default' });
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

  // Bare COPY between the same servers.
  const src = new pg.Client(a.url);
  const dst = new pg.Client(b.url);
  await src.connect();
  await dst.connect();
  await dst.query('create table bare_rows (id bigint primary key, payload text not null, doc jsonb, at timestamptz not null)');
  let started = performance.now();
  await pipeline(
    src.query(copyTo(`copy ${table} (id, payload, doc, at) to stdout (format binary)`)),
    dst.query(copyFrom('copy bare_rows (id, payload, doc, at) from stdin (format binary)')),
  );
  const bareMs = performance.now() - started;
  await src.end();
  await dst.end();

  started = performance.now();
  await tenancy.mobility.backup(
    'big',
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  const backupMs = performance.now() - started;

  const move = await tenancy.mobility.move('big', { server: 'b', retainHours: 0, online: false });

  // Online back to A, with writers: each unit of work's latency; those that waited at the cutover stand out.
  let stop = false;
  const latencies: number[] = [];
  const writers = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const t0 = performance.now();
      await tenancy.withTenant('big', (db) => db.query(`insert into rows (payload) values ('w')`));
      latencies.push(performance.now() - t0);
    }
  });
  const online = await tenancy.mobility.move('big', { server: 'default', retainHours: 0, online: true });
  stop = true;
  await Promise.all(writers);
  const waited = latencies.filter((ms) => ms > 50).sort((x, y) => x - y);
  const p50 = waited.length === 0 ? 0 : waited[Math.floor(waited.length / 2)]!;
  const max = waited.at(-1) ?? 0;
  const rate = (ms: number): string => `${((mb / ms) * 1000).toFixed(1)} MB/s`;
  log();
  log('| what | time | throughput | vs bare COPY |');
  log('|---|---|---|---|');
  log(`| bare COPY TO → COPY FROM, server A → B | ${Math.round(bareMs)} ms | ${rate(bareMs)} | 1.00 |`);
  log(
    `| tenancy.mobility.backup to a null stream (drift check + snapshot + COPY) | ${Math.round(backupMs)} ms | ${rate(backupMs)} | ${(bareMs / backupMs).toFixed(2)} |`,
  );
  log(
    `| tenancy.mobility.move A → B (drift check, copy, verify, switch, drop) | ${move.durationMs} ms | ${rate(move.durationMs)} | ${(bareMs / move.durationMs).toFixed(2)} |`,
  );
  log(`| of which the tenant was suspended (offline move's pause) | ${move.pauseMs} ms | | |`);
  log(
    `| tenancy.mobility.move online B → A, 4 writers inserting (replication, catch-up, cutover) | ${online.durationMs} ms | ${rate(online.durationMs)} | ${(bareMs / online.durationMs).toFixed(2)} |`,
  );
  log(`| of which the cutover held new work | ${online.pauseMs} ms | | |`);
  log(
    `| units of work that waited (> 50 ms) of ${latencies.length}: ${waited.length}, p50 ${Math.round(p50)} ms, max ${Math.round(max)} ms | | | |`,
  );
  await tenancy.close();
} finally {
  await a.stop();
  await b.stop();
}
