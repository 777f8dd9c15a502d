/** bench:http — the servers under test, each a child process of the bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How to start one server. */
export interface ServerSpec {
  /** For messages: `reference API`, `plain app`, … */
  readonly name: string;
  /** The Node script to run. */
  readonly script: string;
  /** Node options before the script (`--cpu-prof`, …). */
  readonly execArgv?: readonly string[];
  readonly cwd?: string;
  /** Added to the bench's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** A stdout line that says it serves; group 1 is the port. */
  readonly ready: RegExp;
  readonly startTimeoutMs?: number;
}

/** A started server. */
export interface RunningServer {
  readonly name: string;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** Set when it exited on its own. */
  exited(): string | undefined;
  /** SIGTERM, then SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

const TAIL_LINES = 40;
const live = new Set<ChildProcess>();

// A bench that fails leaves no server behind.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `spec.script` with the current Node and waits until it prints its ready line. */
export function startServer(spec: ServerSpec): Promise<RunningServer> {
  const child = spawn(process.execPath, [...(spec.execArgv ?? []), spec.script], {
    cwd: spec.cwd ?? process.cwd(),
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const remember = (line: string): void => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
  };
  const tail = (): string => lines.join('\n');
  let exit: string | undefined;
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exit = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    });
  });
  createInterface({ input: child.stderr! }).on('line', remember);
  const stdout = createInterface({ input: child.stdout! });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    })();
    return stopping;
  };
  return new Promise<RunningServer>((resolve, reject) => {
    const timeoutMs = spec.startTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${spec.name} did not start within ${timeoutMs / 1000} s; its last output:\n${tail()}`));
    }, timeoutMs);
    void done.then(() => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} exited (${exit}) before serving; its last output:\n${tail()}`));
    });
    let started = false;
    stdout.on('line', (line) => {
      remember(line);
      if (started) return;
      const m = spec.ready.exec(line);
      if (!m) return;
      started = true;
      clearTimeout(timer);
      resolve({ name: spec.name, url: `http://127.0.0.1:${m[1]}`, pid: child.pid!, tail, exited: () => exit, stop });
    });
  });
}
