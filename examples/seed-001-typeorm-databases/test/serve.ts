/**
 * Serves the example for one test file: the Nest app built by `tsc -b` (`dist/`, with decorator
 * metadata) on its own master database cloned from the template, as the application role, on a
 * free port, with the same server as its read replica (the embedded PostgreSQL has none); closed
 * and dropped after the file.
 */
import { randomBytes } from 'node:crypto';
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
  /** A request with the `x-tenant-id` header when `tenant` is given; `body` is sent as JSON. */
  call(path: string, init?: { method?: string; tenant?: string; body?: unknown }): Promise<Reply>;
}

export async function serve(poolMax = 4): Promise<Served> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const app = await createApp({
    registryUrl: db.url,
    readReplicaUrl: db.url,
    encryptionKey: randomBytes(32).toString('hex'),
    poolMax,
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  afterAll(async () => {
    await app.close();
    await db.drop();
  });
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  return {
    app,
    db,
    async call(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.tenant !== undefined) headers['x-tenant-id'] = init.tenant;
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
