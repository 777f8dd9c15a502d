/** bench:http — the bench's side of the load generator (http-load-worker.ts, a forked process). */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One request the load may send: a tenant's post, with the headers that select the tenant. */
export interface LoadTarget {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The post's id and title, to check the response. */
  readonly id: string;
  readonly title: string;
}

/** What one autocannon run measured. Latencies in ms (autocannon's resolution: 1 ms). */
export interface RoundResult {
  readonly seconds: number;
  /** Responses of any status. */
  readonly responses: number;
  /** 2xx responses. */
  readonly ok: number;
  /** 2xx responses per second. */
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
  /** Connection errors, timeouts included. */
  readonly errors: number;
  readonly timeouts: number;
  /** 200 responses whose body was checked, and those that were not the post asked for. */
  readonly checked: number;
  readonly mismatches: number;
  readonly firstMismatch?: string;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export type LoadRequest =
  | { readonly type: 'targets'; readonly id: number; readonly key: string; readonly targets: readonly LoadTarget[] }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly key: string;
      readonly url: string;
      readonly connections: number;
      readonly seconds: number;
      readonly leadInSeconds: number;
    }
  | { readonly type: 'exit' };

export type LoadResponse =
  | { readonly type: 'ok'; readonly id: number }
  | { readonly type: 'measuring'; readonly id: number }
  | { readonly type: 'result'; readonly id: number; readonly result: RoundResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/** The forked load generator. One run at a time. */
export class LoadGenerator {
  readonly #child: ChildProcess;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (r: LoadResponse) => void; reject: (err: Error) => void }>();
  readonly #onMeasuring = new Map<number, () => void>();

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./http-load-worker.js', import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (raw) => {
      const msg = raw as LoadResponse;
      if (msg.type === 'measuring') {
        this.#onMeasuring.get(msg.id)?.();
        return;
      }
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      p.resolve(msg);
    });
    this.#child.once('exit', (code, signal) => {
      const err = new Error(`the load generator exited (${signal ?? `code ${code}`})`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
  }

  /** Hands the worker the targets of a row, once. */
  async load(key: string, targets: readonly LoadTarget[]): Promise<void> {
    await this.#call({ type: 'targets', id: this.#next++, key, targets });
  }

  /** The worker's pid (its CPU is the bench's, not "other load"). */
  get pid(): number {
    return this.#child.pid!;
  }

  /**
   * One autocannon run over the row's targets; `leadInSeconds` of load first, not measured.
   * `onMeasuring` is called when the measured part starts.
   */
  async run(
    key: string,
    url: string,
    options: { connections: number; seconds: number; leadInSeconds: number },
    onMeasuring?: () => void,
  ): Promise<RoundResult> {
    const id = this.#next++;
    if (onMeasuring !== undefined) this.#onMeasuring.set(id, onMeasuring);
    try {
      const reply = await this.#call({ type: 'run', id, key, url, ...options });
      if (reply.type !== 'result') throw new Error('the load generator answered without a result');
      return reply.result;
    } finally {
      this.#onMeasuring.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ type: 'exit' } satisfies LoadRequest);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  #call(req: Extract<LoadRequest, { id: number }>): Promise<LoadResponse> {
    return new Promise<LoadResponse>((resolve, reject) => {
      this.#pending.set(req.id, {
        resolve: (r) => (r.type === 'error' ? reject(new Error(`load generator: ${r.message}`)) : resolve(r)),
        reject,
      });
      this.#child.send(req);
    });
  }
}
