/** Helpers shared by the provisioning and migration benches. */
import { mkdirSync, writeFileSync } from 'node:fs';
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
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, postgres: pgVersion, loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) };
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
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
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
