/**
 * `npm run bench` — the whole benchmark suite, one table.
 *
 * Runs the benches one after another, each in a process of its own (so none shares a heap,
 * a JIT or an event loop with another): `uow.js`, `http.js`, `provision.js`, `migrate.js`.
 * Each writes `bench/results/<name>.json`; this script then reads them all, prints one table,
 * and writes `bench/results/latest.json`, the chart `docs/benchmarks.svg` and the generated
 * block of `docs/benchmarks.md`.
 *
 * Knobs: BENCH_SUITE (comma-separated subset to run, default all), BENCH_SUITE_REUSE=1 (run
 * nothing: rebuild the table, JSON, chart and docs from the results already there). The
 * benches' own knobs (see bench/README.md) pass through, so set them per bench if at all.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, release as osRelease, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, runBench, writeResult } from './bench-env.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const resultsDir = resolve(here, '..', 'results');
const DOC = resolve(root, 'docs', 'benchmarks.md');
const CHART = resolve(root, 'docs', 'benchmarks.svg');
const BEGIN = '<!-- bench:generated:begin (written by npm run bench; do not edit by hand) -->';
const END = '<!-- bench:generated:end -->';

const BENCHES = ['uow', 'http', 'provision', 'migrate'] as const;
type BenchName = (typeof BENCHES)[number];

/** One row of the suite's table. */
export interface SuiteRow {
  readonly group: string;
  readonly label: string;
  /** Throughput (ops/s, req/s) or a duration, with its unit. */
  readonly value: number | null;
  readonly unit: string;
  /** The ratio to the group's reference row (1 for the reference itself), when it has one. */
  readonly ratio: number | null;
  readonly reference: string | null;
  readonly latency: string | null;
  readonly peakConnections: number | null;
  readonly note: string | null;
  /** A goal the value must not exceed (durations), when it has one. */
  readonly goal?: number;
}

/** The fields of each bench's JSON that the suite reads. */
interface Results {
  uow?: {
    date?: string;
    machine?: { postgres?: string };
    config?: { tenants?: number; callers?: number };
    seedsDesign?: { poolsCreated: number };
    variants: { key: string; label: string; opsPerSec: number; ratioToBaseline: number | null; peakConnections: number }[];
  };
  http?: {
    date?: string;
    config?: { tenants?: number; connections?: number };
    rows: {
      key: string;
      label: string;
      reqPerSec: number;
      p50Ms: number;
      p99Ms: number;
      peakConnections?: number;
      vsPlain?: number | null;
      skipped?: string;
      errors?: number;
      failed?: string;
    }[];
  };
  provision?: {
    date?: string;
    machine?: { postgres?: string };
    rows: {
      kind: string;
      tenants: number;
      p50: number;
      p90: number;
      p99: number;
      rawP50?: number;
      /** What Tenantry adds, in % of the bare PostgreSQL work (goal ≤ 25%). */
      addsPercent?: number;
      goalP50: number;
      met: boolean;
      peakConnections?: number;
    }[];
  };
  migrate?: {
    date?: string;
    rows: {
      step: string;
      tenants: number;
      seconds: number;
      tenantsPerSecond: number;
      goalSeconds: number;
      met: boolean;
      peakConnections?: number;
    }[];
  };
}

function run(name: BenchName): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    log(`\n━━━ ${name} ━━━`);
    const child = spawn(process.execPath, [resolve(here, `${name}.js`)], { stdio: 'inherit', env: process.env });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolvePromise() : reject(new Error(`bench ${name} exited with ${signal ?? code}`))));
  });
}

function readResults(): Results {
  const results: Record<string, unknown> = {};
  for (const name of BENCHES) {
    const path = resolve(resultsDir, `${name}.json`);
    if (existsSync(path)) results[name] = JSON.parse(readFileSync(path, 'utf8'));
  }
  return results as Results;
}

function versionOf(pkg: string, from: string): string {
  try {
    const req = createRequire(resolve(root, from, 'package.json'));
    return String((JSON.parse(readFileSync(req.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version);
  } catch {
    return 'unknown';
  }
}

/** The rows of every bench that has results, in the suite's order. */
export function rowsFrom(results: Results): SuiteRow[] {
  const rows: SuiteRow[] = [];
  const uow = results.uow;
  if (uow) {
    const group = `unit of work, ${uow.config?.tenants ?? '?'} tenants, ${uow.config?.callers ?? '?'} callers`;
    for (const v of uow.variants) {
      rows.push({
        group,
        label: v.label,
        value: v.opsPerSec,
        unit: 'ops/s',
        ratio: v.ratioToBaseline,
        reference: 'raw pg, one schema',
        latency: null,
        peakConnections: v.peakConnections,
        note: v.key === 'seeds' && uow.seedsDesign ? `${uow.seedsDesign.poolsCreated} pools created` : null,
      });
    }
  }
  const http = results.http;
  if (http) {
    const group = `HTTP GET /posts/:id, ${http.config?.tenants ?? '?'} tenants, ${http.config?.connections ?? '?'} connections`;
    for (const v of http.rows) {
      rows.push({
        group,
        label: v.label,
        value: v.skipped ? null : v.reqPerSec,
        unit: 'req/s',
        ratio: v.skipped ? null : (v.vsPlain ?? null),
        reference: 'NestJS, no tenancy',
        latency: v.skipped ? null : `p50 ${v.p50Ms} / p99 ${v.p99Ms} ms`,
        peakConnections: v.skipped ? null : (v.peakConnections ?? null),
        note: v.skipped
          ? `skipped: ${v.skipped}`
          : v.failed
            ? `FAILED under load: ${v.errors ?? '?'} errors (${/too many clients/.test(v.failed) ? 'PostgreSQL: too many clients' : 'see http.json'})`
            : null,
      });
    }
  }
  const provision = results.provision;
  if (provision) {
    for (const v of provision.rows) {
      rows.push({
        group: 'provisioning, one at a time',
        label: v.kind.endsWith('(pending pool)')
          ? `${v.kind.replace(' (pending pool)', '')} signup from the pending pool (${v.tenants} claimed)`
          : `${v.kind} tenant (${v.tenants} created)`,
        value: v.p50,
        unit: 'ms p50',
        ratio: null,
        reference: null,
        latency: `p90 ${v.p90} / p99 ${v.p99} ms`,
        peakConnections: v.peakConnections ?? null,
        note: `${v.rawP50 === undefined ? '' : `bare PostgreSQL p50 ${v.rawP50} ms; `}${v.addsPercent === undefined ? '' : `Tenantry adds ${v.addsPercent}% (goal ≤ 25%); `}goal p50 ≤ ${v.goalP50} ms: ${v.met ? 'met' : 'missed'}`,
        goal: v.goalP50,
      });
    }
  }
  const migrate = results.migrate;
  if (migrate) {
    for (const v of migrate.rows) {
      rows.push({
        group: `migrations, ${v.tenants} schema tenants`,
        label: v.step,
        value: v.seconds,
        unit: 's',
        ratio: null,
        reference: null,
        latency: `${v.tenantsPerSecond} tenants/s`,
        peakConnections: v.peakConnections ?? null,
        note: `goal ≤ ${v.goalSeconds} s: ${v.met ? 'met' : 'missed'}`,
        goal: v.goalSeconds,
      });
    }
  }
  return rows;
}

function cell(row: SuiteRow): string[] {
  return [
    row.label,
    row.value === null ? '—' : `${row.value.toLocaleString('en-US')} ${row.unit}`,
    row.ratio === null ? '—' : `${row.ratio.toFixed(2)}×`,
    row.latency ?? '—',
    row.peakConnections === null ? '—' : String(row.peakConnections),
    row.note ?? '',
  ];
}

const HEADER = ['row', 'result', 'vs reference', 'latency / rate', 'peak conns', 'note'];

function printTable(rows: readonly SuiteRow[]): void {
  const cells = rows.map(cell);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: readonly string[]) => c.map((x, i) => (i === 0 || i === 5 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' │ ');
  let group = '';
  log('');
  log(fmt(HEADER));
  log(widths.map((w) => '─'.repeat(w)).join('─┼─'));
  rows.forEach((row, i) => {
    if (row.group !== group) {
      group = row.group;
      log(`▸ ${group}${row.reference ? ` (vs ${row.reference})` : ''}`);
    }
    log(fmt(cells[i]!));
  });
}

function markdown(rows: readonly SuiteRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  let group = '';
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      out.push(`| **${esc(group)}**${row.reference ? ` (vs ${esc(row.reference)})` : ''} | | | | | |`);
    }
    out.push(`| ${cell(row).map(esc).join(' | ')} |`);
  }
  return out.join('\n');
}

function escXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A horizontal bar chart: every row with a ratio, grouped, against its group's reference
 * (longer is faster); then every row with a goal, as the share of the goal it used (shorter is
 * better). Each bar carries its figure and peak connections.
 */
export function chart(rows: readonly SuiteRow[], subtitle: string): string {
  const ratioRows = rows.filter((r) => r.ratio !== null || r.note?.startsWith('skipped'));
  const goalRows = rows.filter((r) => r.goal !== undefined && r.value !== null);
  const labelW = 480;
  const barW = 300;
  const width = labelW + barW + 330;
  const rowH = 24;
  const groupsOf = (list: readonly SuiteRow[]) => [...new Set(list.map((b) => b.group))];
  const height = 70 + (ratioRows.length + goalRows.length) * rowH + (groupsOf(ratioRows).length + groupsOf(goalRows).length) * 36 + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">Tenantry benchmarks</text>`,
    `<text x="16" y="44" fill="#555">${escXml(subtitle)}</text>`,
  ];
  let y = 70;
  const section = (
    list: readonly SuiteRow[],
    scale: number,
    title: (first: SuiteRow) => string,
    bar: (r: SuiteRow) => { at: number | null; text: string; ours: boolean },
  ) => {
    const x = (v: number) => labelW + (Math.min(v, scale) / scale) * barW;
    for (const g of groupsOf(list)) {
      const members = list.filter((b) => b.group === g);
      parts.push(`<text x="16" y="${y + 14}" font-weight="600">${escXml(title(members[0]!))}</text>`);
      y += 28;
      // The 1.0 line first, under the bars and their figures.
      parts.push(
        `<line x1="${x(1).toFixed(1)}" y1="${y}" x2="${x(1).toFixed(1)}" y2="${y + members.length * rowH}" stroke="#d1d5db" stroke-width="2"/>`,
      );
      for (const b of members) {
        const { at, text, ours } = bar(b);
        parts.push(
          `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escXml(b.label.length > 72 ? `${b.label.slice(0, 70)}…` : b.label)}</text>`,
        );
        if (at === null) {
          parts.push(`<text x="${labelW + 4}" y="${y + 15}" fill="#999">${escXml(text)}</text>`);
        } else {
          parts.push(
            `<rect x="${labelW}" y="${y + 4}" width="${Math.max(1, x(at) - labelW).toFixed(1)}" height="${rowH - 8}" fill="${ours ? '#2563eb' : '#9ca3af'}"/>`,
          );
          parts.push(`<text x="${(Math.max(x(at), x(1)) + 6).toFixed(1)}" y="${y + 15}">${escXml(text)}</text>`);
        }
        y += rowH;
      }
      y += 8;
    }
  };
  const peak = (r: SuiteRow) => (r.peakConnections === null ? '' : ` · peak ${r.peakConnections} conns`);
  section(
    ratioRows,
    Math.max(1.2, ...ratioRows.map((b) => b.ratio ?? 0)),
    (first) => `${first.group} — throughput vs ${first.reference ?? 'reference'} (1.0×; longer is faster)`,
    (r) =>
      r.ratio === null
        ? { at: null, text: r.note ?? 'no result', ours: false }
        : {
            at: r.ratio,
            text: `${r.ratio.toFixed(2)}× (${Math.round(r.value ?? 0).toLocaleString('en-US')} ${r.unit}${peak(r)})${r.note?.startsWith('FAILED') ? ' — FAILED under load' : ''}`,
            ours: /tenantry|reference API/i.test(r.label),
          },
  );
  section(
    goalRows,
    Math.max(1.2, ...goalRows.map((r) => (r.value ?? 0) / r.goal!)),
    (first) => `${first.group} — share of the goal (1.0 = the goal; shorter is better)`,
    (r) => ({ at: r.value! / r.goal!, text: `${r.value} ${r.unit} (goal ≤ ${r.goal})${peak(r)}`, ours: true }),
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

async function main(): Promise<void> {
  const only = (process.env['BENCH_SUITE'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((s) => !(BENCHES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_SUITE: unknown bench(es) ${unknown.join(', ')}; known: ${BENCHES.join(', ')}`);
  const selected = only.length === 0 ? BENCHES : BENCHES.filter((b) => only.includes(b));
  const started = Date.now();
  if (process.env['BENCH_SUITE_REUSE'] !== '1') {
    for (const name of selected) await run(name);
  }
  const results = readResults();
  const missing = BENCHES.filter((b) => !results[b]);
  const rows = rowsFrom(results);
  const rawPg = results.provision?.machine?.postgres ?? results.uow?.machine?.postgres ?? 'unknown';
  const postgres = /PostgreSQL (\S+)/.exec(rawPg)?.[1] ?? rawPg;
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${osRelease()}`,
  };
  const versions = {
    node: process.version,
    postgres,
    tenantry: String((JSON.parse(readFileSync(resolve(root, 'packages', 'core', 'package.json'), 'utf8')) as { version: string }).version),
    pg: versionOf('pg', 'bench'),
    '@nestjs/core': versionOf('@nestjs/core', 'apps/api'),
    autocannon: versionOf('autocannon', 'bench'),
  };
  printTable(rows);
  log('');
  log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.os}`);
  log(
    `versions: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  if (missing.length > 0) log(`no results for: ${missing.join(', ')} (run them with BENCH_SUITE=${missing.join(',')})`);
  const dates = Object.fromEntries(BENCHES.map((k) => [k, results[k]?.date ?? null]));
  const latest = { benchmark: 'suite', date: new Date().toISOString(), machine, versions, measuredAt: dates, rows, sources: results };
  const path = writeResult('latest', latest);
  const ran = Object.values(dates)
    .filter((d): d is string => typeof d === 'string')
    .sort();
  const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');
  const measuredWhen =
    ran.length === 0
      ? 'never'
      : ran[0]!.slice(0, 10) === ran.at(-1)!.slice(0, 10)
        ? `${minute(ran[0]!)}–${ran.at(-1)!.slice(11, 16)}`
        : `${minute(ran[0]!)} – ${minute(ran.at(-1)!)}`;
  const subtitle = `${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB · Node ${versions.node} · PostgreSQL ${postgres} · measured ${measuredWhen} UTC`;
  writeFileSync(CHART, chart(rows, subtitle));
  if (existsSync(DOC)) {
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a >= 0 && b > a) {
      const block = [
        BEGIN,
        '',
        `Measured ${measuredWhen} UTC on ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.os}.`,
        `Versions: ${Object.entries(versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}.`,
        '',
        '![Throughput of every row relative to its group’s reference, with peak server connections](benchmarks.svg)',
        '',
        markdown(rows),
        '',
        END,
      ].join('\n');
      writeFileSync(DOC, doc.slice(0, a) + block + doc.slice(b + END.length));
    } else {
      log(`${DOC} has no generated block (${BEGIN} … ${END}); left as it is`);
    }
  }
  log(`\nwritten: ${path}, ${CHART}, ${DOC}  (suite ${Math.round((Date.now() - started) / 1000)} s)`);
}

runBench('bench', main);
