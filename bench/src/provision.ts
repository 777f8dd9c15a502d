/**
 * `npm run bench:provision` — per-tenant provisioning time for schema and database tenants,
 * measured in one run on one server (durability on). Goals (issue 4): p50 ≤ 15 ms for a
 * schema tenant, ≤ 40 ms for a database tenant (cloned from the template).
 *
 * Beside each kind, interleaved with it, the bare PostgreSQL floor: the same DDL in one
 * transaction on a plain connection (`CREATE SCHEMA` + the migration), and
 * `CREATE DATABASE … TEMPLATE` of Tenantry's own template. What Tenantry adds is the difference.
 *
 * Then a signup served by the pending-tenant pool (`pendingTenants`), goal p50 ≤ 5 ms.
 *
 * Every round trip of each create is counted and timed by step (query-trace.ts: `pg.Client`
 * wrapped for the run, each call labelled by its SQL), and printed as a breakdown: where
 * Tenantry's share goes.
 *
 * Knobs: BENCH_TENANTS (per kind, default 200), BENCH_POOL_CLAIMS (signups from the pending
 * pool per kind, default min(BENCH_TENANTS, 50); 0 skips them), BENCH_KINDS (`schema`,
 * `database` or both, comma-separated), TENANTRY_BENCH_DATABASE_URL.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createTenancy, migrationList, type IsolationKind } from '@tenantry/core';
import { benchServer, envInt, log, machine, runBench, percentile, watchConnections, writeResult } from './bench-env.js';
import { breakdown, installQueryTrace, traced, type TracedCall } from './query-trace.js';

/** FINDINGS' shape: a schema with five tables and their indexes. */
const MIGRATIONS = migrationList([
  {
    name: '0001_app',
    up: `create table accounts (id bigserial primary key, email text not null unique, created_at timestamptz not null default now());
         create table projects (id bigserial primary key, account_id bigint not null references accounts, name text not null);
         create index projects_account on projects (account_id);
         create table tasks (id bigserial primary key, project_id bigint not null references projects, title text not null, done boolean not null default false);
         create index tasks_project on tasks (project_id, done);
         create table comments (id bigserial primary key, task_id bigint not null references tasks, body text not null);
         create index comments_task on comments (task_id);
         create table events (id bigserial primary key, at timestamptz not null default now(), payload jsonb not null default '{}');
         create index events_at on events (at)`,
  },
]);

const GOALS: Record<IsolationKind, number> = { schema: 15, database: 40 };

/** The step a statement belongs to, from its SQL (for the breakdown). */
function stepOf(sql: string): string {
  const text = sql.replace(/\s+/g, ' ').toLowerCase();
  const rules: [RegExp, string][] = [
    [/^<sessionreset>|^<advisoryunlock>/, 'session reset of a pooled connection'],
    [
      /^begin; with pick as .*insert into tenantry\.tenants.*pg_advisory_xact_lock.*create schema/,
      'begin + server pick + registry row + lifecycle lock + role + schema + ledger DDL (one batch)',
    ],
    [
      /^insert into _tenantry_migrations.*reset role.*update tenantry\.tenants.*; commit$/,
      'ledger rows + reset role + registry transition & mirror + commit (one batch)',
    ],
    [/^begin; select pg_advisory_xact_lock.*from tenantry\.tenants/, 'begin + lifecycle lock + read the row (one batch)'],
    [/^begin; select pg_advisory_xact_lock.*create schema/, 'begin + lifecycle lock + role + schema + ledger DDL (one batch)'],
    [
      /^insert into _tenantry_migrations.*reset role.*update tenantry\.tenants/,
      'ledger rows + reset role + registry transition & mirror (one batch)',
    ],
    [/^insert into _tenantry_migrations.*reset role/, 'ledger rows + reset role (one batch)'],
    [/^begin; select pg_catalog\.set_config\('search_path'.*_tenantry_migrations.*grant/, 'new database: ledger read + grants (one batch)'],
    [/create table accounts/, 'the migration (bare: the whole create)'],
    [/^begin; create schema raw_/, 'the migration (bare: the whole create)'],
    [/^create database raw_/, 'create database … template (bare: the whole create)'],
    [/from tenantry\.servers s/, 'server pick'],
    [/insert into tenantry\.tenants/, 'registry insert + activity'],
    [/^begin$/, 'begin'],
    [/^commit$/, 'commit'],
    [/pg_advisory_xact_lock/, 'lifecycle lock'],
    [/^reset role$/, 'reset role'],
    [/update tenantry\.tenants/, 'registry transition + activity'],
    [/insert into tenantry\.tenant_migrations/, 'registry ledger mirror'],
    [/from tenantry\.tenants/, 'registry read'],
    [/insert into _tenantry_migrations/, 'tenant ledger insert'],
    [/_tenantry_migrations/, 'tenant ledger read'],
    [/create schema/, 'role + schema + ledger DDL batch'],
    [/^create role|^select format\('create role|^grant "[^"]+" to current_user$/, 'create role (+ grant it to the app)'],
    [/create database .* template/, 'create database … template'],
    [/^create database/, 'create database'],
    [/^(revoke connect|comment on database|grant connect)/, 'secure the database (revoke, comment)'],
    [/^set local search_path/, 'enter the tenant (search_path)'],
    [/^grant all on all|^grant usage, create/, 'grant the role its tables'],
    [/^set local role/, 'set role (seeds)'],
  ];
  return rules.find(([re]) => re.test(text))?.[1] ?? `other: ${text.slice(0, 50)}`;
}

async function main(): Promise<void> {
  const n = envInt('BENCH_TENANTS', 200);
  const claims = Math.min(n, envInt('BENCH_POOL_CLAIMS', 50, 0));
  const kinds = (process.env['BENCH_KINDS'] ?? 'schema,database').split(',').map((k) => k.trim()) as IsolationKind[];
  if (kinds.length === 0 || kinds.some((k) => k !== 'schema' && k !== 'database'))
    throw new Error(`BENCH_KINDS must be schema, database or both, got ${JSON.stringify(process.env['BENCH_KINDS'])}`);
  installQueryTrace(stepOf);
  const { url, server, version } = await benchServer();
  const tenancy = await createTenancy({ registryUrl: url, migrations: MIGRATIONS, applicationName: 'bench:provision' });
  const rows: Record<string, unknown>[] = [];
  const raw = new pg.Client({ connectionString: url, application_name: 'bench:provision-raw' });
  await raw.connect();
  const rawMade: { schemas: string[]; databases: string[]; roles: string[] } = { schemas: [], databases: [], roles: [] };
  try {
    log(`Provisioning ${n} schema tenants and ${n} database tenants, one at a time (PostgreSQL ${version})`);
    // Warm up: the template database is built on the first database tenant.
    await tenancy.tenants.create({ slug: 'warm-schema', name: 'warm' });
    await tenancy.tenants.create({ slug: 'warm-database', name: 'warm', isolation: 'database' });
    const tpl = (
      await raw.query<{ datname: string }>("select datname from pg_database where starts_with(datname, 'tenantry_tpl_') and datistemplate")
    ).rows[0]?.datname;
    if (tpl === undefined) throw new Error('no template database after the first database tenant');
    // The bare connection's first statements, not timed (its caches warm, like the pools').
    await raw.query('select 1');
    const migrationSql = (await MIGRATIONS.load()).map((m) => m.up).join(';\n');
    const rawTimes: Record<IsolationKind, number[]> = { schema: [], database: [] };
    /** The bare PostgreSQL work of one tenant of `kind` (names made here, never from input). */
    const rawCreate = async (kind: IsolationKind, i: number): Promise<void> => {
      if (kind === 'schema') {
        const name = `raw_s_${i}`;
        rawMade.schemas.push(name);
        await raw.query(`begin; create schema ${name}; set local search_path to ${name}; ${migrationSql}; commit`);
      } else {
        const name = `raw_d_${i}`;
        rawMade.databases.push(name);
        await raw.query(`create database ${name} template "${tpl}"`);
      }
    };
    /**
     * The bare PostgreSQL work that makes the same objects a Tenantry tenant has — its role (and
     * the application's membership), the container owned by it, closed to PUBLIC and marked, the
     * ledger table and row, and for a database its first connection (ledger read, grants) — in
     * the fewest round trips a plain connection allows, with no registry. Tenantry's share over
     * this row is the registry and the round trips; over the bare row, the objects as well.
     */
    const ledgerDdl = `create table _tenantry_migrations (name text primary key, checksum text not null,
      applied_at timestamptz not null default clock_timestamp(), duration_ms integer not null)`;
    const sameTimes: Record<IsolationKind, number[]> = { schema: [], database: [] };
    const sameCreate = async (kind: IsolationKind, i: number): Promise<void> => {
      if (kind === 'schema') {
        const name = `raw_os_${i}`;
        rawMade.schemas.push(name);
        rawMade.roles.push(name);
        await raw.query(
          `begin; create role ${name} nologin noinherit; grant ${name} to current_user; create schema ${name} authorization ${name};
           revoke all on schema ${name} from public; comment on schema ${name} is 'bench'; set local search_path to ${name};
           set local role ${name}; ${ledgerDdl}; ${migrationSql};
           insert into _tenantry_migrations (name, checksum, duration_ms) values ('0001_app', 'x', 0); reset role; commit`,
        );
      } else {
        const name = `raw_od_${i}`;
        rawMade.databases.push(name);
        rawMade.roles.push(name);
        await raw.query(`create role ${name} nologin noinherit; grant ${name} to current_user`);
        await raw.query(`create database ${name} template "${tpl}" owner ${name}`);
        await raw.query(`revoke connect, temporary on database ${name} from public; comment on database ${name} is 'bench'`);
        const first = new pg.Client({ connectionString: urlFor(url, name), application_name: 'bench:provision-raw' });
        await first.connect();
        try {
          await first.query(
            `begin; set local search_path to public; select name from _tenantry_migrations;
             grant all on all tables in schema public to ${name}; grant all on all sequences in schema public to ${name}; commit`,
          );
        } finally {
          void first.end();
        }
      }
    };
    const times: Record<IsolationKind, number[]> = { schema: [], database: [] };
    const traces: Record<IsolationKind, { calls: TracedCall[]; ms: number }[]> = { schema: [], database: [] };
    const rawTraces: Record<IsolationKind, { calls: TracedCall[]; ms: number }[]> = { schema: [], database: [] };
    const watch = await watchConnections(url, 'bench:provision');
    // Interleave the kinds so that drift hits both alike.
    for (let i = 0; i < n; i++) {
      for (const kind of kinds) {
        const made = await traced(() => tenancy.tenants.create({ slug: `p-${kind}-${i}`, name: `P ${i}`, isolation: kind }));
        times[kind].push(made.ms);
        traces[kind].push(made);
        const bare = await traced(() => rawCreate(kind, i));
        rawTimes[kind].push(bare.ms);
        rawTraces[kind].push(bare);
        const same = await traced(() => sameCreate(kind, i));
        sameTimes[kind].push(same.ms);
      }
    }
    const peakConnections = await watch.stop();
    // A signup served by the pending-tenant pool: the pool refilled between claims (not timed),
    // as it would be by the background refill between two signups.
    const claimTimes: Record<IsolationKind, number[]> = { schema: [], database: [] };
    if (claims > 0) {
      const pooled = await createTenancy({
        registryUrl: url,
        migrations: MIGRATIONS,
        applicationName: 'bench:provision-pool',
        pendingTenants: Object.fromEntries(kinds.map((k) => [k, 1])),
      });
      try {
        for (let i = 0; i < claims; i++) {
          for (const kind of kinds) {
            await pooled.tenants.fillPending();
            const started = performance.now();
            const t = await pooled.tenants.create({ slug: `pool-${kind}-${i}`, name: `Pool ${i}`, isolation: kind });
            claimTimes[kind].push(performance.now() - started);
            if (t.schemaVersion === null) throw new Error('a claimed tenant has no migrations');
          }
        }
      } finally {
        await pooled.close();
      }
    }
    log('');
    log(
      '| tenant kind | tenants | p50 ms | p90 ms | p99 ms | bare PostgreSQL p50 ms | Tenantry adds (p50) | adds / bare (goal ≤ 25%) | goal p50 | peak conns (both kinds) |',
    );
    log('|---|---|---|---|---|---|---|---|---|---|');
    for (const kind of kinds) {
      const rawP50 = round(percentile(rawTimes[kind], 50));
      const row = {
        kind,
        tenants: n,
        p50: round(percentile(times[kind], 50)),
        p90: round(percentile(times[kind], 90)),
        p99: round(percentile(times[kind], 99)),
        rawP50,
        goalP50: GOALS[kind],
        peakConnections,
      };
      const addsPercent = Math.round(((row.p50 - rawP50) / rawP50) * 100);
      rows.push({ ...row, overheadP50: round(row.p50 - rawP50), addsPercent, met: row.p50 <= GOALS[kind] });
      log(
        `| ${kind} | ${n} | ${row.p50} | ${row.p90} | ${row.p99} | ${rawP50} | ${round(row.p50 - rawP50)} ms | ${addsPercent}% ${addsPercent <= 25 ? '✓' : '✗'} | ≤ ${GOALS[kind]} ${row.p50 <= GOALS[kind] ? '✓' : '✗'} | ${peakConnections} |`,
      );
    }
    const sameObjects: Record<string, unknown> = {};
    log('');
    log(
      '| tenant kind | bare p50 ms | bare, same objects p50 ms | Tenantry p50 ms | Tenantry over same objects | same objects over bare |',
    );
    log('|---|---|---|---|---|---|');
    for (const kind of kinds) {
      const bare = round(percentile(rawTimes[kind], 50));
      const same = round(percentile(sameTimes[kind], 50));
      const ours = round(percentile(times[kind], 50));
      const over = (a: number, b: number): string => `${Math.round(((a - b) / b) * 100)}%`;
      sameObjects[kind] = { p50: same, tenantryOverSame: over(ours, same), sameOverBare: over(same, bare) };
      log(`| ${kind} | ${bare} | ${same} | ${ours} | ${over(ours, same)} | ${over(same, bare)} |`);
    }
    const steps: Record<string, unknown> = {};
    for (const kind of kinds) {
      const ours = breakdown(traces[kind]);
      const theirs = breakdown(rawTraces[kind]);
      steps[kind] = { tenantry: ours, bare: theirs };
      log('');
      log(`| ${kind} tenant: step | round trips per tenant | mean ms per tenant |`);
      log('|---|---|---|');
      for (const s of ours.steps) log(`| ${s.step} | ${round(s.perRun)} | ${round(s.meanMs)} |`);
      const inStatements = ours.steps.reduce((sum, s) => sum + s.meanMs, 0);
      log(`| between round trips (Node, pool checkout, scheduling) | — | ${round(ours.meanTotalMs - inStatements)} |`);
      log(`| **total** | **${round(ours.meanRoundTrips)}** | **${round(ours.meanTotalMs)}** |`);
      log(
        `| bare PostgreSQL, for comparison | ${round(theirs.meanRoundTrips)} | ${round(theirs.meanTotalMs)} (in the statement: ${round(theirs.steps.reduce((sum, s) => sum + s.meanMs, 0))}) |`,
      );
    }
    log('');
    log('| signup from the pending pool | tenants | p50 ms | p90 ms | p99 ms | goal p50 |');
    log('|---|---|---|---|---|---|');
    for (const kind of claims === 0 ? [] : kinds) {
      const p50 = round(percentile(claimTimes[kind], 50));
      rows.push({
        kind: `${kind} (pending pool)`,
        tenants: claims,
        p50,
        p90: round(percentile(claimTimes[kind], 90)),
        p99: round(percentile(claimTimes[kind], 99)),
        goalP50: 5,
        met: p50 <= 5,
      });
      log(
        `| ${kind} | ${claims} | ${p50} | ${round(percentile(claimTimes[kind], 90))} | ${round(percentile(claimTimes[kind], 99))} | ≤ 5 ${p50 <= 5 ? '✓' : '✗'} |`,
      );
    }
    log(
      `bare PostgreSQL: ${kinds.map((k) => (k === 'schema' ? 'CREATE SCHEMA + the migration in one transaction' : 'CREATE DATABASE … TEMPLATE of the same template')).join('; ')} — on a plain connection, interleaved with Tenantry's creates`,
    );
    const path = writeResult('provision', {
      benchmark: 'provision',
      date: new Date().toISOString(),
      machine: machine(version),
      migrations: 'five tables with indexes',
      tenantRoles: true,
      rows,
      sameObjects,
      steps,
    });
    log('');
    log(`written to ${path}`);
  } finally {
    await tenancy.close();
    if (server === undefined) {
      for (const name of rawMade.schemas) await raw.query(`drop schema if exists ${name} cascade`).catch(() => undefined);
      for (const name of rawMade.databases) await raw.query(`drop database if exists ${name}`).catch(() => undefined);
      for (const name of rawMade.roles) await raw.query(`drop owned by ${name}; drop role if exists ${name}`).catch(() => undefined);
    }
    await raw.end();
    await server?.stop();
  }
}

/** `url` pointing at database `name`. */
function urlFor(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

runBench('bench:provision', main);
