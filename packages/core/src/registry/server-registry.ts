import { ErrorCodes, TenantryError } from '../errors.js';
import { sqlState } from '../pg-errors.js';
import type { Queryable } from './tenant-registry.js';

/** A server row as stored (URLs still encrypted; the default server's URL is null: the registry's own). */
export interface ServerRow {
  readonly id: string;
  readonly url: string | null;
  readonly replicaUrl: string | null;
  readonly capacity: number | null;
  readonly draining: boolean;
  readonly tenants: number;
  readonly createdAt: Date;
}

interface Row {
  id: string;
  url: string | null;
  replica_url: string | null;
  capacity: number | null;
  draining: boolean;
  tenants: number;
  created_at: Date;
}

const toServer = (r: Row): ServerRow =>
  Object.freeze({
    id: r.id,
    url: r.url,
    replicaUrl: r.replica_url,
    capacity: r.capacity,
    draining: r.draining,
    tenants: r.tenants,
    createdAt: r.created_at,
  });

const SELECT = `select s.id, s.url, s.replica_url, s.capacity, s.draining, s.created_at,
  (select count(*)::int from tenantry.tenants t where t.server_id = s.id and t.status <> 'DELETED') as tenants
  from tenantry.servers s`;

/**
 * The servers a new tenant may go to, least-loaded first (`s`, with `count(t.id)` its live
 * tenants): not draining, capacity left (null is unlimited). `and`-ed with `condition` (SQL of
 * Tenantry's own, never a caller's). Used by {@link ServerRegistry.pick} and by the statement
 * that places and registers a tenant in one (tenant-registry.ts `registerStatement`).
 */
export function placementOrder(condition = 'true'): string {
  return `from tenantry.servers s
     left join tenantry.tenants t on t.server_id = s.id and t.status <> 'DELETED'
    where not s.draining and (${condition})
    group by s.id
   having s.capacity is null or count(t.id) < s.capacity
    order by count(t.id), s.created_at, s.id`;
}

/** Reads and writes `tenantry.servers`. */
export class ServerRegistry {
  readonly #db: Queryable;
  #placeable: (row: ServerRow) => boolean = () => true;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async get(id: string): Promise<ServerRow | undefined> {
    const { rows } = await this.#db.query<Row>(`${SELECT} where s.id = $1`, [id]);
    return rows[0] ? toServer(rows[0]) : undefined;
  }

  async list(): Promise<ServerRow[]> {
    const { rows } = await this.#db.query<Row>(`${SELECT} order by s.created_at, s.id`);
    return rows.map(toServer);
  }

  async insert(s: { id: string; url: string; replicaUrl: string | null; capacity: number | null }): Promise<void> {
    try {
      await this.#db.query('insert into tenantry.servers (id, url, replica_url, capacity) values ($1, $2, $3, $4)', [
        s.id,
        s.url,
        s.replicaUrl,
        s.capacity,
      ]);
    } catch (err) {
      if (sqlState(err) === '23505')
        throw new TenantryError(ErrorCodes.SERVER_EXISTS, `a server '${s.id}' is already registered`, {
          cause: err,
          context: { server: s.id },
        });
      throw err;
    }
  }

  async setDraining(id: string, draining: boolean): Promise<boolean> {
    const { rowCount } = await this.#db.query('update tenantry.servers set draining = $2 where id = $1', [id, draining]);
    return (rowCount ?? 0) > 0;
  }

  /** Every server's stored (encrypted) URLs, locked for update in `db`'s transaction (key rotation). */
  async storedUrls(db: Queryable): Promise<{ id: string; url: string | null; replicaUrl: string | null }[]> {
    const { rows } = await db.query<{ id: string; url: string | null; replica_url: string | null }>(
      'select id, url, replica_url from tenantry.servers order by id for update',
    );
    return rows.map((r) => ({ id: r.id, url: r.url, replicaUrl: r.replica_url }));
  }

  async setUrls(db: Queryable, id: string, url: string | null, replicaUrl: string | null): Promise<void> {
    await db.query('update tenantry.servers set url = $2, replica_url = $3 where id = $1', [id, url, replicaUrl]);
  }

  /**
   * Which servers this process may place new tenants on (set by `Servers`: those whose URLs it
   * can decrypt and that are not known to be down).
   */
  placeOnly(placeable: (row: ServerRow) => boolean): void {
    this.#placeable = placeable;
  }

  /** Servers a new tenant may go to (not draining, capacity left, usable by this process), least-loaded first. */
  async placeable(): Promise<ServerRow[]> {
    return (await this.list())
      .filter((r) => !r.draining && (r.capacity === null || r.tenants < r.capacity) && this.#placeable(r))
      .sort((a, b) => a.tenants - b.tenants);
  }

  /**
   * The server a new tenant goes to: the least-loaded one that is not draining, has capacity
   * left (`capacity` counts live tenants; null is unlimited) and that this process can use.
   */
  async pick(): Promise<string | undefined> {
    const { rows } = await this.#db.query<Row>(
      `select s.id, s.url, s.replica_url, s.capacity, s.draining, s.created_at, count(t.id)::int as tenants ${placementOrder()}`,
    );
    return rows.map(toServer).find((r) => this.#placeable(r))?.id;
  }

  /** Changes a server's row; `url`/`replicaUrl` already encrypted. False when there is no such server. */
  async update(id: string, patch: { url?: string; replicaUrl?: string | null; capacity?: number | null }): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `update tenantry.servers
          set url = case when $2 then $3 else url end,
              replica_url = case when $4 then $5 else replica_url end,
              capacity = case when $6 then $7::int else capacity end
        where id = $1`,
      [
        id,
        patch.url !== undefined,
        patch.url ?? null,
        patch.replicaUrl !== undefined,
        patch.replicaUrl ?? null,
        patch.capacity !== undefined,
        patch.capacity ?? null,
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Deletes a server's row, in `db`'s transaction, after locking it (a tenant being placed on it
   * waits, then fails). Refused while live tenants are placed there; the registry rows of its
   * DELETED tenants (and their activity) are deleted with it only when `force` is set.
   * @returns false when there is no such server.
   */
  async remove(db: Queryable, id: string, force: boolean): Promise<boolean> {
    const { rows } = await db.query<{ id: string }>('select id from tenantry.servers where id = $1 for update', [id]);
    if (rows.length === 0) return false;
    const { rows: counts } = await db.query<{ live: number; deleted: number }>(
      `select count(*) filter (where status <> 'DELETED')::int as live, count(*) filter (where status = 'DELETED')::int as deleted
         from tenantry.tenants where server_id = $1`,
      [id],
    );
    const { live, deleted } = counts[0]!;
    if (live > 0)
      throw new TenantryError(
        ErrorCodes.SERVER_IN_USE,
        `server '${id}' has ${live} live tenant(s); delete them (or wait for them to be deleted) before removing it`,
        { context: { server: id } },
      );
    if (deleted > 0 && !force)
      throw new TenantryError(
        ErrorCodes.SERVER_IN_USE,
        `server '${id}' has no live tenants, but the registry keeps ${deleted} deleted tenant(s) placed there (with their activity); remove it with force to delete those records too`,
        { context: { server: id } },
      );
    await db.query(`delete from tenantry.tenants where server_id = $1 and status = 'DELETED'`, [id]);
    await db.query('delete from tenantry.servers where id = $1', [id]);
    return true;
  }
}
