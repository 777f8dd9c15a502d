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

/** Reads and writes `tenantry.servers`. */
export class ServerRegistry {
  readonly #db: Queryable;

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
   * The server a new tenant goes to: the least-loaded one that is not draining and has
   * capacity left (`capacity` counts live tenants; null is unlimited).
   */
  async pick(): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ id: string }>(
      `select s.id from tenantry.servers s
         left join tenantry.tenants t on t.server_id = s.id and t.status <> 'DELETED'
        where not s.draining
        group by s.id, s.capacity, s.created_at
       having s.capacity is null or count(t.id) < s.capacity
        order by count(t.id), s.created_at, s.id
        limit 1`,
    );
    return rows[0]?.id;
  }
}
