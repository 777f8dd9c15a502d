/** Helpers shared by the provisioning and migration benches. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';

export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A PostgreSQL for the bench: `TENANTRY_BENCH_DATABASE_URL`, or an embedded one (durability on, as in production). */
export async function benchServer(): Promise<{ url: string; server: EmbeddedServer | undefined; version: string }> {
  const external = process.env['TENANTRY_BENCH_DATABASE_URL'];
  const server = external ? undefined : await startEmbeddedServer({ postgresFlags: ['-c', 'max_connections=200'] });
  const url = external ?? server!.url;
  const client = new pg.Client(url);
  await client.connect();
  const version = String((await client.query('show server_version')).rows[0].server_version);
  await client.end();
  return { url, server, version };
}

export function machine(pgVersion: string): Record<string, unknown> {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: pgVersion,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Writes `bench/results/<name>.json`. */
export function writeResult(name: string, data: unknown): string {
  const path = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'results', `${name}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}

/** Runs a bench's `main`, printing a failure and exiting 1 on error (never on a missed goal). */
export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

/** Peak of the client backends with one `application_name`, polled every `intervalMs` until `stop()`. */
export async function watchConnections(url: string, applicationName: string, intervalMs = 100): Promise<{ stop: () => Promise<number> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench:monitor' });
  await client.connect();
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [
        applicationName,
      ]);
      peak = Math.max(peak, rows[0]!.n);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end();
      return peak;
    },
  };
}

/** Fields of `/proc/<pid>/stat`, in clock ticks (Linux). */
export interface ProcStat {
  readonly ppid: number;
  readonly utime: number;
  readonly stime: number;
  /** CPU of children that exited and were reaped. */
  readonly cutime: number;
  readonly cstime: number;
}

/** `/proc/<pid>/stat`, or undefined when the process is gone (or there is no /proc). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may contain spaces and parentheses; split after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime is field 14 → f[11].
  return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
}

/** Clock ticks per second of /proc's CPU figures. */
export const CLOCK_TICKS_PER_SECOND = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();
