import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Tenancy } from '@tenantry/core';

/** What every example's `create…App()` takes. */
export interface ExampleAppOptions {
  /** URL of the registry database (any PostgreSQL). */
  readonly databaseUrl: string;
  /** Connections per server. Default 10. */
  readonly poolMax?: number;
  /** Sees each error that became a 500 answer. */
  readonly onError?: (err: unknown) => void;
}

/** A running example: its tenancy and HTTP server, which it listens with and closes. */
export interface ExampleApp {
  readonly tenancy: Tenancy;
  readonly server: Server;
  /** Starts listening (port 0: any free port); returns the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting requests, waits for those in flight, then closes the tenancy. */
  close(): Promise<void>;
}

export interface ExampleAppParts {
  /**
   * Closes what the app holds on top of the tenancy (Prisma clients, say): after the server has
   * stopped, before the tenancy closes the connections it uses.
   */
  readonly closeBeforeTenancy?: () => Promise<void>;
}

/**
 * Wraps a tenancy and the server that uses it as an {@link ExampleApp}.
 *
 * @example
 * ```ts
 * return exampleApp(tenancy, jsonServer(routes, options.onError));
 * ```
 */
export function exampleApp(tenancy: Tenancy, server: Server, parts: ExampleAppParts = {}): ExampleApp {
  return {
    tenancy,
    server,
    async listen(port, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return `http://${host}:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await parts.closeBeforeTenancy?.();
      await tenancy.close();
    },
  };
}
