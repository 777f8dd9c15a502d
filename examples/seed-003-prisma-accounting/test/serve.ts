/**
 * Serves the example for one test file: the Nest app built by `tsc -b` (`dist/`, with decorator
 * metadata) on its own database cloned from the template, as the application role, on a free
 * port; closed and dropped after the file.
 */
import { afterAll, inject } from 'vitest';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';
import { createApp } from '../dist/app.js';

export interface Reply {
  readonly status: number;
  /** The parsed JSON answer; `undefined` when empty. */
  readonly body: any;
}

export interface Served {
  readonly app: INestApplication;
  readonly db: TestDatabase;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** A request; `body` is sent as JSON. */
  call(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply>;
}

export async function serve(options: { poolMax?: number; maxClients?: number } = {}): Promise<Served> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const app = await createApp({ registryUrl: db.url, logger: false, ...options });
  await app.listen(0, '127.0.0.1');
  afterAll(async () => {
    await app.close();
    await db.drop();
  });
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  return {
    app,
    db,
    base,
    async call(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
    },
  };
}
