import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A worker child process (fixtures/crash-worker.mjs) and what it reported. */
export interface CrashWorker {
  readonly child: ChildProcess;
  readonly started: Set<string>;
  readonly done: Set<string>;
  /** When each key was reported done (ms since the epoch). */
  readonly doneAt: Map<string, number>;
  /** Keys whose completion the queue reported recorded (BullMQ only). */
  readonly recorded: Set<string>;
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
  const doneAt = new Map<string, number>();
  const recorded = new Set<string>();
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  child.on('message', (m: { event: string; key?: string }) => {
    if (m.event === 'ready') resolveReady();
    else if (m.event === 'start') started.add(m.key!);
    else if (m.event === 'recorded') recorded.add(m.key!);
    else if (m.event === 'done') {
      done.add(m.key!);
      doneAt.set(m.key!, Date.now());
      everDone.add(m.key!);
    }
  });
  return { child, started, done, doneAt, recorded, ready, inFlight: () => [...started].filter((k) => !done.has(k)) };
}

/**
 * SIGKILLs the worker and waits for it to be gone (and for every message it sent); returns the
 * keys that may run again: those started and not recorded complete where the queue reports its
 * records (BullMQ), else those in flight and those done within `recentMs` before the kill (the
 * queue records a completion in a step of its own after the handler returned).
 */
export async function killWorker(w: CrashWorker, recentMs = 0): Promise<string[]> {
  const gone = Promise.all([
    new Promise((r) => w.child.once('exit', r)),
    w.child.connected ? new Promise((r) => w.child.once('disconnect', r)) : undefined,
  ]);
  const killedAt = Date.now();
  w.child.kill('SIGKILL');
  await gone;
  // Where the queue says what it recorded (BullMQ), everything started and not recorded may repeat.
  if (w.recorded.size > 0) return [...w.started].filter((k) => !w.recorded.has(k));
  const recent = [...w.doneAt].filter(([, at]) => at >= killedAt - recentMs).map(([k]) => k);
  return [...w.inFlight(), ...recent];
}
