/**
 * bench:http — server connections, from `pg_stat_activity`. A server's backends are those of
 * its database ({@link BackendScope}); two servers that share a database are told apart by
 * `application_name`. The monitor's own connection is left out.
 */
import pg from 'pg';

const QUERY = `select datname, application_name as app, count(*)::int as n
                 from pg_stat_activity
                where backend_type = 'client backend' and pid <> pg_backend_pid() and datname is not null
                group by 1, 2`;

/**
 * Which backends are one server's: every backend of `database`, or only those whose
 * `application_name` is (`apps`) or is not (`exceptApps`) one of the names given. A name also
 * covers itself with a suffix, e.g. `bench:http-tenancy` covers `bench:http-tenancy:listener`.
 */
export interface BackendScope {
  readonly database: string;
  readonly apps?: readonly string[];
  readonly exceptApps?: readonly string[];
}

/** Backends at one moment: one entry per database and `application_name`. */
export type Backends = readonly { readonly database: string; readonly app: string; readonly n: number }[];

function named(app: string, names: readonly string[]): boolean {
  return names.some((name) => app === name || app.startsWith(`${name}:`));
}

function inScope(scope: BackendScope, database: string, app: string): boolean {
  if (database !== scope.database) return false;
  if (scope.apps !== undefined && !named(app, scope.apps)) return false;
  return scope.exceptApps === undefined || !named(app, scope.exceptApps);
}

/** The backends of `scope` in `backends`, per `application_name` (`(none)` when empty) and in all. */
export function countBackends(backends: Backends, scope: BackendScope): { total: number; byApp: Map<string, number> } {
  const byApp = new Map<string, number>();
  let total = 0;
  for (const b of backends) {
    if (!inScope(scope, b.database, b.app)) continue;
    byApp.set(b.app || '(none)', b.n);
    total += b.n;
  }
  return { total, byApp };
}

/** The most backends of one scope seen during a window, in all and per `application_name`. */
export interface Peaks {
  readonly total: number;
  readonly byApp: ReadonlyMap<string, number>;
}

/** Cumulative counters of one database, as {@link ConnectionMonitor.databaseCounters} reads them. */
export interface DatabaseCounters {
  readonly transactions: number;
  readonly sessions: number;
}

export class ConnectionMonitor {
  readonly #client: pg.Client;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #scope: BackendScope | undefined;
  #total = 0;
  #byApp = new Map<string, number>();
  #error: unknown;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async open(url: string): Promise<ConnectionMonitor> {
    const client = new pg.Client({ connectionString: url, application_name: 'bench:monitor' });
    await client.connect();
    return new ConnectionMonitor(client);
  }

  /** Backends now. */
  async snapshot(): Promise<Backends> {
    const { rows } = await this.#client.query<{ datname: string; app: string; n: number }>(QUERY);
    return rows.map((r) => ({ database: r.datname, app: r.app, n: r.n }));
  }

  /**
   * A database's cumulative counters (pg_stat_database): transactions — one per Sync outside an
   * explicit transaction, so a statement count for single-statement batches — and sessions
   * opened. Backends flush them at most once a second: read the difference over a round.
   */
  async databaseCounters(database: string): Promise<DatabaseCounters> {
    const { rows } = await this.#client.query<{ xacts: string; sessions: string }>(
      `select xact_commit + xact_rollback as xacts, sessions from pg_stat_database where datname = $1`,
      [database],
    );
    return { transactions: Number(rows[0]?.xacts ?? 0), sessions: Number(rows[0]?.sessions ?? 0) };
  }

  /** Starts a window over `scope`: polls every `intervalMs` until {@link stop}. */
  start(intervalMs: number, scope: BackendScope): void {
    this.#scope = scope;
    this.#total = 0;
    this.#byApp = new Map();
    this.#error = undefined;
    this.#timer = setInterval(() => this.#poll(), intervalMs);
    this.#poll();
  }

  /** Ends the window and returns its peaks (none when it was not started). */
  async stop(): Promise<Peaks> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    const peaks = { total: this.#total, byApp: this.#byApp };
    this.#scope = undefined;
    this.#total = 0;
    this.#byApp = new Map();
    if (this.#error !== undefined) throw this.#error;
    return peaks;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#polling;
    await this.#client.end();
  }

  #poll(): void {
    if (this.#polling !== undefined) return; // the previous poll is still running
    const scope = this.#scope;
    if (scope === undefined) return;
    this.#polling = this.snapshot()
      .then((now) => {
        const { total, byApp } = countBackends(now, scope);
        if (total > this.#total) this.#total = total;
        for (const [app, n] of byApp) if (n > (this.#byApp.get(app) ?? 0)) this.#byApp.set(app, n);
      })
      .catch((err: unknown) => {
        this.#error ??= err;
      })
      .finally(() => {
        this.#polling = undefined;
      });
  }
}
