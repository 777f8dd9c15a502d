/**
 * bench:http — server connections per application, from `pg_stat_activity`. Each server under
 * test has a database of its own, so its backends are counted by `datname` (whatever
 * `application_name` its libraries set); the monitor's own connection is left out.
 */
import pg from 'pg';

const QUERY = `select datname, application_name as app, count(*)::int as n
                 from pg_stat_activity
                where backend_type = 'client backend' and pid <> pg_backend_pid() and datname is not null
                group by 1, 2`;

interface Snapshot {
  readonly byDatabase: Map<string, number>;
  readonly byApp: Map<string, number>;
}

/** The most backends seen during a window, per database and per `database/application_name`. */
export interface Peaks {
  readonly byDatabase: ReadonlyMap<string, number>;
  readonly byApp: ReadonlyMap<string, number>;
}

export class ConnectionMonitor {
  readonly #client: pg.Client;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #peaksDb = new Map<string, number>();
  #peaksApp = new Map<string, number>();
  #error: unknown;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async open(url: string): Promise<ConnectionMonitor> {
    const client = new pg.Client({ connectionString: url, application_name: 'bench:monitor' });
    await client.connect();
    return new ConnectionMonitor(client);
  }

  /** Backends per database now. */
  async snapshot(): Promise<Map<string, number>> {
    return (await this.#read()).byDatabase;
  }

  /** Starts a window: polls every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    this.#peaksDb = new Map();
    this.#peaksApp = new Map();
    this.#error = undefined;
    this.#timer = setInterval(() => this.#poll(), intervalMs);
    this.#poll();
  }

  /** Ends the window and returns its peaks (none when it was not started). */
  async stop(): Promise<Peaks> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    const peaks = { byDatabase: this.#peaksDb, byApp: this.#peaksApp };
    this.#peaksDb = new Map();
    this.#peaksApp = new Map();
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
    this.#polling = this.#read()
      .then((s) => {
        for (const [db, n] of s.byDatabase) if (n > (this.#peaksDb.get(db) ?? 0)) this.#peaksDb.set(db, n);
        for (const [app, n] of s.byApp) if (n > (this.#peaksApp.get(app) ?? 0)) this.#peaksApp.set(app, n);
      })
      .catch((err: unknown) => {
        this.#error ??= err;
      })
      .finally(() => {
        this.#polling = undefined;
      });
  }

  async #read(): Promise<Snapshot> {
    const { rows } = await this.#client.query<{ datname: string; app: string; n: number }>(QUERY);
    const byDatabase = new Map<string, number>();
    const byApp = new Map<string, number>();
    for (const r of rows) {
      byDatabase.set(r.datname, (byDatabase.get(r.datname) ?? 0) + r.n);
      byApp.set(`${r.datname}/${r.app}`, r.n);
    }
    return { byDatabase, byApp };
  }
}
