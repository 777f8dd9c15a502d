import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A worker child process (fixtures/crash-worker.mjs) and what it reported. */
export interface CrashWorker {
  readonly child: ChildProcess;
  readonly started: Set<string>;
  readonly done: Set<string>;
  /** Keys started and not done: in flight now. */
  inFlight(): string[];
  ready: Promise<void>;
}

/** Forks the crash worker for `backend`; `everDone` collects the keys every worker finished. */
export function startCrashWorker(backend: 'pg-boss' | 'bullmq', env: Record<string, string>, everDone: Set<string>): CrashWorker {
  const child = fork(fileURLToPath(new URL('./fixtures/crash-worker.mjs', import.meta.url)), [], {
    env: { ...process.env, ...env, JOBS_BACKEND: backend },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = new Set<string>();
  const done = new Set<string>();
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  child.on('message', (m: { event: string; key?: string }) => {
    if (m.event === 'ready') resolveReady();
    else if (m.event === 'start') started.add(m.key!);
    else if (m.event === 'done') {
      done.add(m.key!);
      everDone.add(m.key!);
    }
  });
  return { child, started, done, ready, inFlight: () => [...started].filter((k) => !done.has(k)) };
}

/** SIGKILLs the worker and waits for it to be gone; returns the keys that were in flight. */
export async function killWorker(w: CrashWorker): Promise<string[]> {
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGKILL');
  await exited;
  return w.inFlight();
}
