/**
 * Counts and times every round trip a `pg` client makes while a trace is open: `pg.Client`'s
 * `query` (and `connect`, a new backend) wrapped for the whole process, each call labelled by
 * its SQL. For the provisioning bench's per-step breakdown: where a create spends its round
 * trips and its milliseconds. A bench helper only: the library has no tracing of its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

/** One round trip: its step and how long the caller waited for it (queueing on the client included). */
export interface TracedCall {
  readonly step: string;
  readonly ms: number;
}

type Labeller = (text: string) => string;

/** The calls of the trace open in this async context (a monitor polling meanwhile is not in it). */
const current = new AsyncLocalStorage<TracedCall[]>();
let labeller: Labeller = (text) => text.slice(0, 40);
let installed = false;

/** Wraps `pg.Client.prototype.query` and `connect` once; calls are recorded only inside {@link traced}. */
export function installQueryTrace(label: Labeller): void {
  labeller = label;
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
    connect: (...args: unknown[]) => unknown;
  };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const into = current.getStore();
    if (into === undefined) return query.apply(this, args);
    const first = args[0];
    const text =
      typeof first === 'string'
        ? first
        : first !== null && typeof first === 'object' && typeof (first as { text?: unknown }).text === 'string'
          ? (first as { text: string }).text
          : `<${(first as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'submittable'}>`;
    const step = labeller(text.trim());
    const started = performance.now();
    const done = (): void => {
      into.push({ step, ms: performance.now() - started });
    };
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const cb = args[last] as (...a: unknown[]) => unknown;
      args[last] = (...a: unknown[]) => {
        done();
        return cb(...a);
      };
      return query.apply(this, args);
    }
    if (first !== null && typeof first === 'object' && typeof (first as { submit?: unknown }).submit === 'function') {
      // A Submittable (a session reset, a unit of work): done at its ReadyForQuery or error.
      const s = first as { handleReadyForQuery?: (...a: unknown[]) => unknown; handleError?: (...a: unknown[]) => unknown };
      for (const k of ['handleReadyForQuery', 'handleError'] as const) {
        const original = s[k];
        if (typeof original !== 'function') continue;
        let once = k === 'handleReadyForQuery';
        s[k] = function (this: unknown, ...a: unknown[]) {
          if (once) {
            once = false;
            done();
          }
          return original.apply(this, a);
        };
      }
      return query.apply(this, args);
    }
    const result = query.apply(this, args) as Promise<unknown> | undefined;
    result?.then(done, done);
    return result;
  };
  const connect = proto.connect;
  proto.connect = function (this: unknown, ...args: unknown[]): unknown {
    const into = current.getStore();
    const started = performance.now();
    const result = connect.apply(this, args) as Promise<unknown> | undefined;
    if (into !== undefined) result?.then(() => into.push({ step: 'new connection (backend start)', ms: performance.now() - started }));
    return result;
  };
}

/** Runs `fn` recording the round trips it makes (those of its async context). */
export async function traced<T>(fn: () => Promise<T>): Promise<{ value: T; calls: TracedCall[]; ms: number }> {
  const calls: TracedCall[] = [];
  const started = performance.now();
  const value = await current.run(calls, fn);
  return { value, calls, ms: performance.now() - started };
}

/** Per step over many traced runs: round trips per run and mean ms per run, in first-seen order. */
export function breakdown(runs: readonly { calls: readonly TracedCall[]; ms: number }[]): {
  steps: { step: string; perRun: number; meanMs: number }[];
  meanTotalMs: number;
  meanRoundTrips: number;
} {
  const steps = new Map<string, { n: number; ms: number }>();
  let total = 0;
  let trips = 0;
  for (const run of runs) {
    total += run.ms;
    for (const c of run.calls) {
      const s = steps.get(c.step) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += c.ms;
      steps.set(c.step, s);
      if (!c.step.startsWith('new connection')) trips++;
    }
  }
  const n = Math.max(1, runs.length);
  return {
    steps: [...steps].map(([step, s]) => ({ step, perRun: s.n / n, meanMs: s.ms / n })),
    meanTotalMs: total / n,
    meanRoundTrips: trips / n,
  };
}
