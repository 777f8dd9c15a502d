import 'reflect-metadata';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';
import pg from 'pg';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';

export const MIGRATIONS = fileURLToPath(new URL('./fixtures/migrations', import.meta.url));

/** One database per test file, an admin client on it, and every app closed after the file. */
export interface Harness {
  readonly db: TestDatabase;
  readonly admin: pg.Client;
  /** Boots a module with NestFactory on a free port; closed after the file. */
  boot(module: object): Promise<Booted>;
}

export interface Booted {
  readonly app: INestApplication;
  readonly url: string;
  readonly port: number;
}

export async function setupHarness(): Promise<Harness> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const admin = new pg.Client({ connectionString: db.url, application_name: 'test-admin' });
  await admin.connect();
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await admin.end();
    await db.drop();
  });
  return {
    db,
    admin,
    async boot(module) {
      const app = await NestFactory.create(module as never, { logger: false, abortOnError: false });
      apps.push(app);
      await app.listen(0, '127.0.0.1');
      const address = app.getHttpServer().address() as { port: number };
      return { app, url: `http://127.0.0.1:${address.port}`, port: address.port };
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** fetch, parsing a JSON body. */
export async function call(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * A request with a chosen Host header (fetch does not let a caller set Host), for the
 * subdomain and domain resolvers.
 */
export function callWithHost(port: number, path: string, host: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers: { ...headers, host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: h, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
