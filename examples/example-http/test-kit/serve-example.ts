/**
 * Serves an example app for one test file: its own database cloned from the template, the app on
 * a free port, closed and dropped after the file's tests. Vitest runs this file as TypeScript; it
 * is not part of the `tsc -b` build.
 */
import { afterAll, inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';
import type { ExampleApp } from '../src/index.js';

export interface CallInit {
  /** Default GET. */
  readonly method?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Sent as JSON. */
  readonly body?: unknown;
}

/** An HTTP request to the app under test; `body` is the parsed JSON answer, `undefined` when empty. */
export type Call = (path: string, init?: CallInit) => Promise<{ status: number; body: any }>;

export interface ServedExample<A extends ExampleApp> {
  readonly app: A;
  readonly db: TestDatabase;
  readonly base: string;
  /** The errors that became 500 answers: a test ends with `expect(errors).toEqual([])`. */
  readonly errors: unknown[];
  readonly call: Call;
}

/**
 * Call at the top of a test file, awaited: `createApp` gets the test database's URL and an
 * `onError` that collects into `errors`.
 *
 * @example
 * ```ts
 * const { call, errors } = await serveExample((test) => createOrgsApp({ ...test, poolMax: 5 }));
 * ```
 */
export async function serveExample<A extends ExampleApp>(
  createApp: (test: { databaseUrl: string; onError: (err: unknown) => void }) => Promise<A>,
): Promise<ServedExample<A>> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const errors: unknown[] = [];
  const app = await createApp({ databaseUrl: db.url, onError: (err) => errors.push(err) });
  const base = await app.listen(0);
  afterAll(async () => {
    await app.close();
    await db.drop();
  });
  const call: Call = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return { app, db, base, errors, call };
}
