import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './embedded-server.js';

/** Options of {@link startRedis}. */
export interface RedisOptions {
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  readonly port?: number;
  /** The `redis-server` executable. Default: `REDIS_SERVER` from the environment, else `redis-server` on PATH (or /usr/bin). */
  readonly binary?: string;
  /** Where redis-server's output lines go (default: dropped). */
  readonly onLog?: (line: string) => void;
  /** Milliseconds to wait for redis-server to listen. Default 10 000. */
  readonly startTimeoutMillis?: number;
}

/** A running redis-server, with nothing persisted (its folder is removed by `stop`). */
export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops redis-server (SIGTERM, then SIGKILL after 5 s) and removes its temp folder. Idempotent. */
  stop(): Promise<void>;
}

/** `redis-server` is not installed (or not executable). */
export class RedisNotFoundError extends Error {
  override readonly name = 'RedisNotFoundError';
  constructor(tried: string) {
    super(
      `redis-server was not found (looked for ${tried}). Install it — Debian/Ubuntu: \`sudo apt-get install redis-server\`; ` +
        'macOS: `brew install redis` — or point REDIS_SERVER at the executable.',
    );
  }
}

function lookedFor(binary: string | undefined): string {
  if (binary !== undefined && binary !== '') return binary;
  const env = process.env['REDIS_SERVER'];
  return env !== undefined && env !== '' ? env : 'redis-server on PATH and in /usr/bin, /usr/local/bin';
}

function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of the `redis-server` executable (`REDIS_SERVER`, else PATH, else the usual folders), or undefined. */
export function findRedisServer(binary = process.env['REDIS_SERVER']): string | undefined {
  if (binary !== undefined && binary !== '' && binary.includes('/')) return executable(binary) ? binary : undefined;
  const name = binary !== undefined && binary !== '' ? binary : 'redis-server';
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Why redis-server cannot be started here — the message of the {@link RedisNotFoundError}
 * {@link startRedis} would throw, which says how to install it — or `undefined` when it is
 * found. The library prints nothing: a suite that skips itself prints this line itself.
 *
 * @example
 * ```ts
 * const missing = redisMissing();
 * const skip = missing !== undefined && process.env['CI'] !== 'true'; // CI must have it
 * if (skip) console.warn(`Redis tests skipped: ${missing}`);
 * describe.skipIf(skip)('on BullMQ', () => { … });
 * ```
 */
export function redisMissing(binary?: string): string | undefined {
  return findRedisServer(binary) === undefined ? new RedisNotFoundError(lookedFor(binary)).message : undefined;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) before listening:\n${output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts a throw-away redis-server on a free loopback port, its working folder a fresh temp
 * folder, persistence off. Throws {@link RedisNotFoundError} when `redis-server` is not installed.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * const queue = new Queue('q', { connection: { host: redis.host, port: redis.port } });
 * // …
 * await redis.stop();
 * ```
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer(options.binary);
  if (binary === undefined) throw new RedisNotFoundError(lookedFor(options.binary));
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  args.push('--daemonize', 'no', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction');
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const forward = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-8_000);
    if (options.onLog) for (const line of text.split('\n')) if (line.trim()) options.onLog(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a redis-server behind when the test process dies.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, options.startTimeoutMillis ?? 10_000, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}`, stop };
}
