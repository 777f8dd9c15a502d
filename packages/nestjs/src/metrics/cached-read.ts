import { performance } from 'node:perf_hooks';

/**
 * A value read at most once per `ttlMs`, with concurrent callers sharing one read: a storm of
 * scrapes costs one registry query. A read that fails or takes longer than `timeoutMs` rejects
 * (the next call tries again); the last good value stays available as {@link CachedRead.last}.
 */
export class CachedRead<T> {
  readonly #read: () => Promise<T>;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  #value: { readonly value: T; readonly at: number } | undefined;
  #pending: Promise<T> | undefined;

  constructor(read: () => Promise<T>, options: { readonly ttlMs: number; readonly timeoutMs: number }) {
    this.#read = read;
    this.#ttlMs = options.ttlMs;
    this.#timeoutMs = options.timeoutMs;
  }

  /** The last value read successfully, however old. */
  get last(): T | undefined {
    return this.#value?.value;
  }

  async get(): Promise<T> {
    if (this.#value !== undefined && performance.now() - this.#value.at < this.#ttlMs) return this.#value.value;
    this.#pending ??= withTimeout(this.#read(), this.#timeoutMs)
      .then((value) => {
        this.#value = { value, at: performance.now() };
        return value;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return await this.#pending;
  }

  /** Forgets the cached value (not {@link last}): the next call reads again. */
  expire(): void {
    if (this.#value !== undefined) this.#value = { value: this.#value.value, at: -Infinity };
  }
}

/** Rejects with an error named `TimeoutError` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`no answer within ${ms} ms`);
      err.name = 'TimeoutError';
      reject(err);
    }, ms);
    timer.unref();
  });
  // The loser's rejection is handled here, so a late failure is not an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
