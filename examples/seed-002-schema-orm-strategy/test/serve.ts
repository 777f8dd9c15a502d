/**
 * Serves the example for a test: the Nest app built by `tsc -b` (`dist/`, with decorator
 * metadata) with the ORM given, on a database of its own cloned from the template, as the
 * application role, on a free port; closed and dropped by `close()`.
 */
import { request } from 'node:http';
import { inject } from 'vitest';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';
import { createApp } from '../dist/app.js';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON answer (`undefined` when empty), or the bytes when the answer is not JSON. */
  readonly body: any;
  readonly bytes: Buffer;
}

export interface CallInit {
  readonly method?: string;
  /** Extra headers: `x-tenant-id`, `host`, `content-type`. */
  readonly headers?: Record<string, string>;
  /** Sent as JSON, or as is when a Buffer. */
  readonly body?: unknown;
}

export interface Served {
  readonly app: INestApplication;
  readonly db: TestDatabase;
  readonly port: number;
  call(path: string, init?: CallInit): Promise<Reply>;
  close(): Promise<void>;
}

/** One HTTP request with node:http (which, unlike fetch, sends the Host header it is given). */
export function httpCall(port: number, path: string, init: CallInit = {}): Promise<Reply> {
  const raw = init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(JSON.stringify(init.body));
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (raw !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(raw.length);
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const json = (res.headers['content-type'] ?? '').includes('json');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes.length === 0 ? undefined : json ? JSON.parse(bytes.toString('utf8')) : bytes,
          bytes,
        });
      });
    });
    req.on('error', reject);
    req.end(raw);
  });
}

export async function serve(orm: 'typeorm' | 'drizzle', options: { poolMax?: number; db?: TestDatabase } = {}): Promise<Served> {
  const db = options.db ?? (await createTestDatabase(inject('tenantryServerUrl')));
  const app = await createApp({ registryUrl: db.url, orm: { type: orm }, poolMax: options.poolMax ?? 4, logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    app,
    db,
    port,
    call: (path, init) => httpCall(port, path, init),
    async close() {
      await app.close();
      if (options.db === undefined) await db.drop();
    },
  };
}
