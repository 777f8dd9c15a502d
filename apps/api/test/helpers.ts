import { request as httpRequest } from 'node:http';
import { afterAll, inject } from 'vitest';
import pg from 'pg';
import { pino, type DestinationStream } from 'pino';
import { createTestDatabase, type TestDatabase } from '@tenantry/testing';
import { createApiApp, type ApiApp } from '../dist/app-factory.js';
import { configFromEnv } from '../dist/config.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long';

export interface RunningApi {
  readonly url: string;
  readonly port: number;
  readonly api: ApiApp;
  close(): Promise<void>;
}

export interface ApiHarness {
  readonly db: TestDatabase;
  readonly admin: pg.Client;
  /**
   * Starts the reference service on the file's database. `env` are extra environment settings;
   * with `logDestination` the service logs there at `LOG_LEVEL` (else it is silent).
   */
  start(env?: Record<string, string>, options?: { readonly logDestination?: DestinationStream }): Promise<RunningApi>;
}

/** One database per file; every service started is closed after the file. */
export async function setupApi(): Promise<ApiHarness> {
  const db = await createTestDatabase(inject('tenantryServerUrl'));
  const admin = new pg.Client({ connectionString: db.url, application_name: 'test-admin' });
  await admin.connect();
  const running: RunningApi[] = [];
  afterAll(async () => {
    for (const r of running.reverse()) await r.close();
    await admin.end();
    await db.drop();
  });
  return {
    db,
    admin,
    async start(env = {}, options = {}) {
      const config = configFromEnv({
        LOG_LEVEL: 'silent',
        TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
        TENANTRY_JWT_SECRET: JWT_SECRET,
        DATABASE_URL: db.url,
        // No background provisioning unless a test asks for it (pending-tenants tests do).
        TENANTRY_PENDING_SCHEMA_TENANTS: '0',
        ...env,
      });
      const logging =
        options.logDestination === undefined ? { logger: pino({ level: 'silent' }) } : { logDestination: options.logDestination };
      const api = await createApiApp({ config, registryUrl: db.url, ...logging });
      await api.app.listen(0, '127.0.0.1');
      const port = (api.app.getHttpServer().address() as { port: number }).port;
      let closed = false;
      const r: RunningApi = {
        url: `http://127.0.0.1:${port}`,
        port,
        api,
        async close() {
          if (closed) return;
          closed = true;
          await api.app.close();
        },
      };
      running.push(r);
      return r;
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

export interface CallOptions {
  readonly token?: string;
  readonly tenant?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** One HTTP request with Node's fetch; JSON in, JSON out. */
export async function http(base: string, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
  if (o.tenant !== undefined) headers['x-tenant-id'] = o.tenant;
  let body: string | undefined;
  if (o.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A GET with a chosen Host header (fetch cannot set Host), for the domain resolver. */
export function getWithHost(port: number, path: string, host: string, headers: Record<string, string> = {}): Promise<Reply> {
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

/** Creates a tenant through the admin API and returns it with a fresh tenant token. */
export async function tenantWithToken(base: string, name: string, slug?: string): Promise<{ tenant: any; token: string }> {
  const created = await http(base, 'POST', '/tenants', { token: ADMIN_TOKEN, body: slug === undefined ? { name } : { name, slug } });
  if (created.status !== 201) throw new Error(`create tenant ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const issued = await http(base, 'POST', `/tenants/${created.body.id}/tokens`, { token: ADMIN_TOKEN, body: {} });
  if (issued.status !== 201) throw new Error(`token for ${name}: ${issued.status} ${JSON.stringify(issued.body)}`);
  return { tenant: created.body, token: issued.body.token };
}

/** Log lines written to a destination the service accepts, parsed. */
export function logCapture(): { readonly destination: DestinationStream; readonly lines: Record<string, any>[]; readonly raw: string[] } {
  const raw: string[] = [];
  const lines: Record<string, any>[] = [];
  return {
    raw,
    lines,
    destination: {
      write(chunk: string) {
        for (const line of chunk.split('\n')) {
          if (line === '') continue;
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, any>);
        }
      },
    },
  };
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (enough of the format for the tests). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the first sample named `name` with (at least) `labels`. */
export function sample(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
