/**
 * Tenantry's own single-Sync batch (`DISCARD ALL`, the route prefix with `search_path` and the
 * tenant's role, the caller's query; one Sync — packages/core/src/tenant-query.ts) sent on a
 * bare `pg.Pool`, with no Tenantry pool, unit of work, registry or context around it. The rows
 * that use it (`bench:uow` `batch-reset-role`, `bench:http` `plain-routed`) measure the
 * PostgreSQL work of schema-per-tenant routing with the wire protocol Tenantry uses, so that
 * what a Tenantry row costs beyond them is Tenantry's JavaScript.
 *
 * `TenantQuery` is not a public export: the bench loads it from the built core package.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

interface TenantQueryModule {
  newConnectionState(): { resetPending: boolean };
  TenantQuery: new (
    config: { text: string; values: unknown[] },
    prefix: RawPrefix,
    state: unknown,
    begin: boolean,
    status: () => string | null,
    callback: (err: Error | null, result?: pg.QueryResult) => void,
  ) => unknown;
}

/** The route of one tenant: its quoted `search_path` value and its role (or null). */
export interface RawPrefix {
  readonly searchPath: string;
  readonly role: string | null;
  readonly readOnly: boolean;
}

/** Sends Tenantry's batch, with the session reset first every time, on connections of `pool`. */
export type RawBatch = <R extends pg.QueryResultRow>(prefix: RawPrefix, text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

export async function rawBatch(pool: pg.Pool): Promise<RawBatch> {
  const here = dirname(fileURLToPath(import.meta.url));
  // bench/dist/raw-batch.js → packages/core/dist/tenant-query.js
  const m = (await import(resolve(here, '../../packages/core/dist/tenant-query.js'))) as TenantQueryModule;
  const states = new WeakMap<pg.PoolClient, { resetPending: boolean }>();
  return async <R extends pg.QueryResultRow>(prefix: RawPrefix, text: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      let state = states.get(client);
      if (state === undefined) {
        state = m.newConnectionState();
        states.set(client, state);
      }
      // Every unit of work starts with the reset, as a connection that changes tenant does.
      state.resetPending = true;
      const s = state;
      return await new Promise<pg.QueryResult<R>>((resolveResult, reject) => {
        client.query(
          new m.TenantQuery(
            { text, values },
            prefix,
            s,
            false,
            () => 'I',
            (err, result) => (err === null ? resolveResult(result as pg.QueryResult<R>) : reject(err)),
          ) as unknown as pg.QueryConfig,
        );
      });
    } catch (err) {
      failure = err as Error;
      throw err;
    } finally {
      client.release(failure);
    }
  };
}
