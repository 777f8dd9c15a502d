/**
 * `npm run bench:start` — how long `npm start` takes until `GET /health` answers, as a new user
 * sees it: **cold** (the API's and the CLI's build output removed, a new data folder: build,
 * initdb, PostgreSQL start, registry migrations, Nest boot) and **warm** (everything built, the
 * same data folder: PostgreSQL start and Nest boot). Beside them, in the same run, PostgreSQL's own
 * floor: initdb + start of an embedded server, and a start on an existing data folder.
 * Goals (issue 18): cold ≤ 30 s, warm ≤ 5 s.
 *
 * Knobs: BENCH_ROUNDS (default 2: each measurement is the median of that many).
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { freePort, startEmbeddedServer } from '@tenantry/testing';
import { envInt, log, machine, runBench, writeResult } from './bench-env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/.bin/tsc');
const GOALS = { cold: 30, warm: 5 };

/** Runs `npm start` with `dataDir` and `port` until /health answers; returns the seconds it took. */
async function startUntilHealthy(dataDir: string, port: number): Promise<number> {
  const started = performance.now();
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, TENANTRY_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}: ${stderr.slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return (performance.now() - started) / 1000;
      if (performance.now() - started > 300_000) throw new Error('no /health within 300 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    // The whole process group: npm, node and the embedded PostgreSQL.
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function postgresFloor(): Promise<{ cold: number; warm: number }> {
  // Not created here: the harness makes it so that the `postgres` user can use it when we are root.
  const dataDir = join(tmpdir(), `bench-start-pg-${randomBytes(4).toString('hex')}`);
  try {
    let t = performance.now();
    const server = await startEmbeddedServer({ dataDir });
    const cold = (performance.now() - t) / 1000;
    await server.stop();
    t = performance.now();
    const again = await startEmbeddedServer({ dataDir, port: await freePort() });
    const warm = (performance.now() - t) / 1000;
    await again.stop();
    return { cold, warm };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const rounds = envInt('BENCH_ROUNDS', 2);
  const cold: number[] = [];
  const warm: number[] = [];
  const floorCold: number[] = [];
  const floorWarm: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-start-'));
    // PostgreSQL runs as the `postgres` user when we are root: it must reach the folder.
    await chmod(dataDir, 0o755);
    try {
      execFileSync(TSC, ['-b', '--clean', 'apps/api', 'packages/cli'], { cwd: ROOT });
      const port = await freePort();
      cold.push(await startUntilHealthy(dataDir, port));
      warm.push(await startUntilHealthy(dataDir, port));
      const floor = await postgresFloor();
      floorCold.push(floor.cold);
      floorWarm.push(floor.warm);
      log(
        `round ${r}/${rounds}: cold ${cold.at(-1)!.toFixed(1)} s (PostgreSQL initdb + start ${floor.cold.toFixed(1)} s), warm ${warm.at(-1)!.toFixed(1)} s (PostgreSQL start ${floor.warm.toFixed(1)} s)`,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  const result = {
    cold: { seconds: median(cold), postgresSeconds: median(floorCold), goalSeconds: GOALS.cold },
    warm: { seconds: median(warm), postgresSeconds: median(floorWarm), goalSeconds: GOALS.warm },
  };
  log();
  log(`npm start until /health answers (median of ${rounds}):`);
  log(
    `  cold (build + new data folder): ${result.cold.seconds.toFixed(1)} s — PostgreSQL's own initdb + start ${result.cold.postgresSeconds.toFixed(1)} s — goal ≤ ${GOALS.cold} s: ${result.cold.seconds <= GOALS.cold ? 'met' : 'MISSED'}`,
  );
  log(
    `  warm (built, same data folder): ${result.warm.seconds.toFixed(1)} s — PostgreSQL's own start ${result.warm.postgresSeconds.toFixed(1)} s — goal ≤ ${GOALS.warm} s: ${result.warm.seconds <= GOALS.warm ? 'met' : 'MISSED'}`,
  );
  writeResult('start', { machine: machine('embedded'), rounds, result, samples: { cold, warm, floorCold, floorWarm } });
}

runBench('start', main);
