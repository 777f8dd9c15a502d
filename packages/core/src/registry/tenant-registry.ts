// Over 450 lines on purpose: every SQL statement against tenantry.tenants, tenant_domains,
// tenant_migrations and activity lives here, so the registry's tables have one reader and writer
// and a schema change is reviewed in one file.
import type pg from 'pg';
import { ErrorCodes, TenantryError } from '../errors.js';
import type { TenantRef } from '../identifiers.js';
import { sqlState } from '../pg-errors.js';
import type { CheckedCreate } from '../tenant-input.js';
import { placementOrder } from './server-registry.js';
import type { ActivityEntry, IsolationKind, Tenant, TenantStatus } from '../types.js';

/** Anything that runs a query: the registry pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** The key of a container in {@link TenantRegistry.ownedContainers}: physical names are unique per server. */
export function containerKey(server: string, name: string): string {
  return `${server}/${name}`;
}

/** `TENANT_EXISTS` for a physical name another tenant on the server holds. */
export function physicalNameTaken(name: string, server: string, cause?: unknown): TenantryError {
  return new TenantryError(
    ErrorCodes.TENANT_EXISTS,
    `physical name '${name}' is taken on server '${server}' (by another tenant, or by a schema, database or role already there); pick another name`,
    { cause, context: { server } },
  );
}

/** `TENANT_EXISTS` for a slug a live tenant holds. */
function slugTaken(slug: string, cause: unknown): TenantryError {
  return new TenantryError(
    ErrorCodes.TENANT_EXISTS,
    `a tenant with slug '${slug}' already exists; pick another slug, or delete the existing tenant first`,
    { cause, context: { tenant: slug } },
  );
}

/** The channel on which tenant changes are announced to every process. */
export const TENANT_CHANNEL = 'tenantry_tenants';

/**
 * The SQL function that announces a change on {@link TENANT_CHANNEL} with a signed payload
 * (registry migration 5; see registry-notification.ts). Every registry write that changes what a
 * process may have cached calls it in the same statement, so the announcement commits with it.
 */
const NOTIFY = 'tenantry.notify_change';

const COLUMNS = `id, slug, name, status, isolation, server_id, physical_name, role, schema_version,
  last_migration_at, error_message, plan, metadata, created_at, updated_at, login_secret is not null as strict`;

interface TenantRow {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
  isolation: IsolationKind;
  server_id: string;
  physical_name: string;
  role: string | null;
  schema_version: string | null;
  last_migration_at: Date | null;
  error_message: string | null;
  plan: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  strict: boolean;
}

function toTenant(r: TenantRow): Tenant {
  return Object.freeze({
    id: r.id,
    slug: r.slug,
    name: r.name,
    status: r.status,
    isolation: r.isolation,
    server: r.server_id,
    physicalName: r.physical_name,
    role: r.role,
    strict: r.strict === true,
    schemaVersion: r.schema_version,
    lastMigrationAt: r.last_migration_at,
    errorMessage: r.error_message,
    plan: r.plan,
    metadata: Object.freeze(r.metadata ?? {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
}

/** The columns of `upd`, for statements that return the changed row. */
const UPD_COLUMNS = COLUMNS.split(',')
  .map((c) => `upd.${c.trim()}`)
  .join(', ');

/**
 * Bookkeeping that can be rebuilt after a crash (a PROVISIONING row, MIGRATING markers, the
 * ledger mirror) is committed without waiting for the WAL flush: one fsync less per step.
 * Set inside the statement, it applies to that statement's own transaction.
 */
const ASYNC_COMMIT = `(select pg_catalog.set_config('synchronous_commit', 'off', true))`;

/**
 * The SQLSTATE {@link TenantRegistry.registerStatement} raises when the new tenant is placed on
 * another server than the registry's (a code of Tenantry's own, class `TY`).
 */
export const PLACED_ELSEWHERE = 'TY001';

/** The SQLSTATE a transition with `orRaise` raises when the tenant is not in one of `from`. */
export const NOT_IN_STATE = 'TY002';

/** A new tenant's registry row. */
export interface NewTenant {
  id: string;
  slug: string;
  name: string;
  plan: string | null;
  metadata: Record<string, unknown>;
  physicalName: string;
  role: string | null;
  isolation: IsolationKind;
  server: string;
  targetVersion: string;
  actor?: string | undefined;
  idempotencyKey?: string | undefined;
  requestHash?: string | undefined;
  /** A strict tenant's login password, encrypted. */
  loginSecret?: string | undefined;
  kind?: 'tenant' | 'copy' | 'pending';
}

/** The columns a new row is inserted with, and their parameters ($17 is the actor, for the activity row). */
const INSERT_COLUMNS = `id, slug, name, status, isolation, server_id, physical_name, plan, metadata, role, target_version,
  idempotency_key, request_hash, login_secret, kind, error_message`;
const INSERT_PARAMS =
  '$1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::jsonb, $10::text, $11::text, $12::text, $13::text, $14::text, $15::text, $16::text';

function insertValues(t: NewTenant, status: TenantStatus, error: string | null): unknown[] {
  return [
    t.id,
    t.slug,
    t.name,
    status,
    t.isolation,
    t.server,
    t.physicalName,
    t.plan,
    JSON.stringify(t.metadata),
    t.role,
    t.targetVersion,
    t.idempotencyKey ?? null,
    t.requestHash ?? null,
    t.loginSecret ?? null,
    t.kind ?? 'tenant',
    error,
    t.actor ?? null,
  ];
}

/** A state change, written with its activity entry and announced, in one statement. */
export interface Transition {
  readonly from: readonly TenantStatus[];
  readonly to: TenantStatus;
  readonly action: string;
  readonly actor?: string | undefined;
  readonly error?: string | null;
  readonly detail?: Record<string, unknown>;
  /** Set schema_version / last_migration_at along with the change. */
  readonly schemaVersion?: string | null;
  /** Mirror these tenant ledger rows into the registry in the same statement (see {@link TenantRegistry.recordMigrations}). */
  readonly applied?: readonly MirroredMigration[];
  /** Commit without waiting for the WAL flush (only for changes a later step re-derives). */
  readonly asyncCommit?: boolean;
  /**
   * Raise {@link NOT_IN_STATE} when the tenant is not in one of `from`, instead of answering
   * `ok: false`: for a transition sent in one batch with the `COMMIT` of its transaction, which
   * then does not commit.
   */
  readonly orRaise?: boolean;
}

/** A tenant ledger row as the registry mirrors it. */
export interface MirroredMigration {
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: Date;
  readonly durationMs: number;
}

/** The outcome of a compare-and-set transition. */
export type TransitionResult =
  { readonly ok: true; readonly tenant: Tenant } | { readonly ok: false; readonly current: Tenant | undefined };

/**
 * Reads and writes the `tenantry` schema. Every state change is a compare-and-set on the
 * status, writes an activity row and sends a signed NOTIFY, atomically.
 */
export class TenantRegistry {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** A strict tenant's encrypted login password (undefined for other tenants). */
  async loginSecret(id: string, db: Queryable = this.#db): Promise<string | undefined> {
    const { rows } = await db.query<{ s: string | null }>('select login_secret as s from tenantry.tenants where id = $1', [id]);
    return rows[0]?.s ?? undefined;
  }

  /** Every stored login password (to re-encrypt them under a new key). */
  async loginSecrets(db: Queryable = this.#db): Promise<{ id: string; secret: string }[]> {
    const { rows } = await db.query<{ id: string; secret: string }>(
      'select id, login_secret as secret from tenantry.tenants where login_secret is not null',
    );
    return rows;
  }

  /** Replaces a stored login password (re-encrypted). */
  async setLoginSecret(id: string, secret: string, db: Queryable = this.#db): Promise<void> {
    await db.query('update tenantry.tenants set login_secret = $2 where id = $1', [id, secret]);
  }

  /**
   * By id: any row, any status — tenants and mobility copies alike (for reconcile, mobility and
   * the registry's own bookkeeping). By slug: the live tenant (not DELETED) holding it.
   */
  async find(ref: TenantRef, db: Queryable = this.#db): Promise<Tenant | undefined> {
    const sql =
      ref.kind === 'id'
        ? `select ${COLUMNS} from tenantry.tenants where id = $1`
        : `select ${COLUMNS} from tenantry.tenants where slug = $1 and status <> 'DELETED' and kind = 'tenant'`;
    const { rows } = await db.query<TenantRow>(sql, [ref.value]);
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  /**
   * Like {@link TenantRegistry.find}, but only tenants: never a mobility copy (a restore's or
   * move's staging copy, a retained old copy), whatever the reference. What every surface that
   * resolves, routes, migrates or changes a tenant on a caller's behalf reads.
   */
  async findTenant(ref: TenantRef, db: Queryable = this.#db): Promise<Tenant | undefined> {
    const sql =
      ref.kind === 'id'
        ? `select ${COLUMNS} from tenantry.tenants where id = $1 and kind = 'tenant'`
        : `select ${COLUMNS} from tenantry.tenants where slug = $1 and status <> 'DELETED' and kind = 'tenant'`;
    const { rows } = await db.query<TenantRow>(sql, [ref.value]);
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  /** The tenants of these ids that exist (any status; in no particular order). */
  async findTenants(ids: readonly string[], db: Queryable = this.#db): Promise<Tenant[]> {
    const { rows } = await db.query<TenantRow>(`select ${COLUMNS} from tenantry.tenants where id = any($1::uuid[]) and kind = 'tenant'`, [
      ids,
    ]);
    return rows.map(toTenant);
  }

  /**
   * Inserts a PROVISIONING tenant (or, with `kind: 'copy'`, a mobility copy, which no list,
   * count, resolution or migration sees; with `kind: 'pending'`, a pending tenant: migrated, never
   * listed or resolved until a create claims it). Throws `TENANT_EXISTS` when a live tenant has the slug.
   */
  async insert(t: NewTenant, db: Queryable = this.#db): Promise<Tenant> {
    try {
      const { rows } = await db.query<TenantRow>(
        `with ins as (
           insert into tenantry.tenants (${INSERT_COLUMNS}) values (${INSERT_PARAMS}) returning ${COLUMNS}),
         act as (
           insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
           select id, 'create', null, 'PROVISIONING', $17, jsonb_build_object('slug', slug) from ins)
         select ins.*, ${NOTIFY}(ins.id::text), ${ASYNC_COMMIT} from ins`,
        insertValues(t, 'PROVISIONING', null),
      );
      return toTenant(rows[0]!);
    } catch (err) {
      throw this.insertError(err, t) ?? err;
    }
  }

  /**
   * The statement that registers a PROVISIONING tenant inside the transaction that creates it
   * (a schema tenant in the registry's database: see tenants.ts), to send in a batch with the
   * statements that make its container. It places the tenant too: on `requested`, else on the
   * least-loaded server that is not draining and has room — and raises
   * {@link PLACED_ELSEWHERE} (the batch and its transaction fail, nothing is written) unless
   * that server is `t.server`, the registry's. Its result is read by
   * {@link TenantRegistry.tenantOf}, its error by {@link TenantRegistry.insertError}.
   *
   * Unlike {@link TenantRegistry.insert} it commits with the transaction's own durability: the
   * row and the container are one commit. A create of the same slug, physical name or
   * idempotency key meanwhile waits on the unique index until this transaction ends.
   */
  registerStatement(t: NewTenant, requested: string | null): { text: string; values: unknown[] } {
    return {
      text: `with pick as (select s.id ${placementOrder('$18::text is null or s.id = $18::text')} limit 1),
             ins as (
               insert into tenantry.tenants (${INSERT_COLUMNS})
               select ${INSERT_PARAMS} from pick where pick.id = $6::text
               returning ${COLUMNS}),
             act as (
               insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
               select id, 'create', null, 'PROVISIONING', $17, jsonb_build_object('slug', slug) from ins)
             select ins.*, ${NOTIFY}(ins.id::text) from (select 1) as one left join ins on true
              where tenantry.raise_unless(ins.id is not null, '${PLACED_ELSEWHERE}', 'the new tenant goes to another server than the registry''s')`,
      values: [...insertValues(t, 'PROVISIONING', null), requested],
    };
  }

  /**
   * Records a create that failed before anything was committed (its transaction rolled back) as
   * a FAILED tenant with its error, and the activity a create that failed midway leaves:
   * `create` then `failed`. Throws `TENANT_EXISTS` when a live tenant took the slug meanwhile.
   */
  async insertFailed(t: NewTenant, error: string, db: Queryable = this.#db): Promise<Tenant> {
    try {
      const { rows } = await db.query<TenantRow>(
        `with ins as (
           insert into tenantry.tenants (${INSERT_COLUMNS}) values (${INSERT_PARAMS}) returning ${COLUMNS}),
         act as (
           insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail, error)
           select id, 'create', null, 'PROVISIONING', $17, jsonb_build_object('slug', slug), null from ins
           union all
           select id, 'failed', 'PROVISIONING', 'FAILED', $17, '{}'::jsonb, $16 from ins)
         select ins.*, ${NOTIFY}(ins.id::text) from ins`,
        insertValues(t, 'FAILED', error),
      );
      return toTenant(rows[0]!);
    } catch (err) {
      throw this.insertError(err, t) ?? err;
    }
  }

  /** `TENANT_EXISTS` for an insert of `t` that met a live tenant's slug, physical name or idempotency key; else undefined. */
  insertError(err: unknown, t: { slug: string; physicalName: string; server: string }): TenantryError | undefined {
    if (sqlState(err) !== '23505') return undefined;
    if ((err as { constraint?: string }).constraint === 'tenants_live_physical_name')
      return physicalNameTaken(t.physicalName, t.server, err);
    return slugTaken(t.slug, err);
  }

  /**
   * Turns one ready pending tenant (ACTIVE, at `version`, of `isolation`, on `server` or on any
   * server that is not draining) into the tenant `t` describes, in one statement that writes its
   * activity and announces it. Undefined when none is ready. Throws `TENANT_EXISTS` on a taken slug
   * (the pending tenant stays pending).
   */
  async claimPending(
    t: Omit<CheckedCreate, 'strict' | 'physicalName'> & {
      version: string | null;
      actor?: string | undefined;
      idempotencyKey?: string | undefined;
      requestHash?: string | undefined;
    },
  ): Promise<Tenant | undefined> {
    try {
      const { rows } = await this.#db.query<TenantRow>(
        `with pick as (
           select t.id from tenantry.tenants t join tenantry.servers s on s.id = t.server_id
            where t.kind = 'pending' and t.status = 'ACTIVE' and t.isolation = $1 and ($2::text is null or t.server_id = $2)
              and not s.draining and t.schema_version is not distinct from $3 and t.physical_rename_to is null
            order by t.seq limit 1 for update of t skip locked),
         upd as (
           update tenantry.tenants t
              set kind = 'tenant', slug = $4, name = $5, plan = $6, metadata = $7::jsonb, idempotency_key = $9, request_hash = $10,
                  created_at = now(), updated_at = now()
             from pick where t.id = pick.id
           returning t.*),
         act as (
           insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
           select id, 'claimed', 'ACTIVE', 'ACTIVE', $8, jsonb_build_object('slug', slug) from upd)
         select ${UPD_COLUMNS}, ${NOTIFY}(upd.id::text) from upd`,
        [
          t.isolation,
          t.server,
          t.version,
          t.slug,
          t.name,
          t.plan,
          JSON.stringify(t.metadata),
          t.actor ?? null,
          t.idempotencyKey ?? null,
          t.requestHash ?? null,
        ],
      );
      return rows[0] ? toTenant(rows[0]) : undefined;
    } catch (err) {
      if (sqlState(err) === '23505') throw slugTaken(t.slug, err);
      throw err;
    }
  }

  /** Pending tenants per server and isolation (DELETED and FAILED ones not counted), optionally on `db`. */
  async pendingCounts(db: Queryable = this.#db): Promise<{ server: string; isolation: IsolationKind; ready: number; total: number }[]> {
    const { rows } = await db.query<{ server: string; isolation: IsolationKind; ready: number; total: number }>(
      `select server_id as server, isolation, count(*) filter (where status = 'ACTIVE')::int as ready, count(*)::int as total
         from tenantry.tenants where kind = 'pending' and status not in ('DELETED', 'FAILED')
        group by server_id, isolation order by server_id, isolation`,
    );
    return rows;
  }

  /** Pending tenants of a server and isolation, newest first (for trimming a pool that shrank). */
  async pendingOf(server: string, isolation: IsolationKind): Promise<Tenant[]> {
    const { rows } = await this.#db.query<TenantRow>(
      `select ${COLUMNS} from tenantry.tenants where kind = 'pending' and status = 'ACTIVE' and server_id = $1 and isolation = $2 order by seq desc`,
      [server, isolation],
    );
    return rows.map(toTenant);
  }

  /**
   * The statement that reads a tenant by id (any row, as {@link TenantRegistry.find}), to send in
   * a batch with others; {@link TenantRegistry.tenantOf} reads its result.
   */
  findStatement(id: string): { text: string; values: unknown[] } {
    return { text: `select ${COLUMNS} from tenantry.tenants where id = $1`, values: [id] };
  }

  /** The tenant in the result of {@link TenantRegistry.findStatement}, or undefined. */
  tenantOf(result: { rows: unknown[] }): Tenant | undefined {
    const row = result.rows[0] as TenantRow | undefined;
    return row === undefined ? undefined : toTenant(row);
  }

  /**
   * Moves a tenant from one of `from` to `to`; returns the current row when it was not in `from`.
   * With `change.applied`, the tenant's ledger rows are mirrored in the same statement.
   */
  async transition(id: string, change: Transition, db: Queryable = this.#db): Promise<TransitionResult> {
    const setVersion = change.schemaVersion !== undefined;
    const applied = change.applied ?? [];
    const mirror =
      applied.length === 0
        ? ''
        : `,
       -- The tenant's ledger, mirrored with the change (only when it happened).
       mig as (
         insert into tenantry.tenant_migrations (tenant_id, name, checksum, applied_at, duration_ms)
         select upd.id, m.* from upd, unnest($10::text[], $11::text[], $12::timestamptz[], $13::int[]) as m
         on conflict (tenant_id, name) do update set checksum = excluded.checksum, applied_at = excluded.applied_at, duration_ms = excluded.duration_ms)`;
    const { rows } = await db.query<TenantRow>(
      `with prev as (select id, status from tenantry.tenants where id = $1 for update),
       upd as (
         update tenantry.tenants t
            set status = $2, error_message = $3, updated_at = now(),
                deleted_at = case when $2 = 'DELETED' then now() else t.deleted_at end,
                schema_version = case when $8 then $9 else t.schema_version end,
                last_migration_at = case when $8 then now() else t.last_migration_at end
           from prev
          where t.id = prev.id and prev.status = any($4::text[])
         returning t.*, prev.status as prev_status),
       act as (
         insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail, error)
         select id, $5, prev_status, $2, $6, $7::jsonb, $3 from upd),
       -- A deleted tenant gives its custom domains back.
       dom as (delete from tenantry.tenant_domains d using upd where $2 = 'DELETED' and d.tenant_id = upd.id)${mirror}
       select ${UPD_COLUMNS}, ${NOTIFY}(upd.id::text)${change.asyncCommit ? `, ${ASYNC_COMMIT}` : ''} from ${
         change.orRaise
           ? `(select 1) as one left join upd on true
               where tenantry.raise_unless(upd.id is not null, '${NOT_IN_STATE}',
                       'the tenant is ' || coalesce((select status from prev), 'not registered') || ', not ' || array_to_string($4::text[], ' or '))`
           : 'upd'
       }`,
      [
        id,
        change.to,
        change.error ?? null,
        change.from,
        change.action,
        change.actor ?? null,
        JSON.stringify(change.detail ?? {}),
        setVersion,
        change.schemaVersion ?? null,
        ...(applied.length === 0
          ? []
          : [
              applied.map((a) => a.name),
              applied.map((a) => a.checksum),
              applied.map((a) => a.appliedAt),
              applied.map((a) => a.durationMs),
            ]),
      ],
    );
    if (rows[0]) return { ok: true, tenant: toTenant(rows[0]) };
    return { ok: false, current: await this.find({ kind: 'id', value: id }, db) };
  }

  /** Changes the slug (and/or name) of a live tenant. Throws `TENANT_EXISTS` on a taken slug. */
  async rename(id: string, slug: string, actor: string | undefined): Promise<Tenant | undefined> {
    try {
      const { rows } = await this.#db.query<TenantRow>(
        `with prev as (select id, slug from tenantry.tenants where id = $1 and status not in ('DELETING', 'DELETED') for update),
         upd as (update tenantry.tenants t set slug = $2, updated_at = now() from prev where t.id = prev.id returning t.*, prev.slug as prev_slug),
         act as (
           insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
           select id, 'rename', status, status, $3, jsonb_build_object('from', prev_slug, 'to', slug) from upd)
         select ${UPD_COLUMNS}, ${NOTIFY}(upd.id::text) from upd`,
        [id, slug, actor ?? null],
      );
      return rows[0] ? toTenant(rows[0]) : undefined;
    } catch (err) {
      if (sqlState(err) === '23505') {
        throw new TenantryError(ErrorCodes.TENANT_EXISTS, `a tenant with slug '${slug}' already exists; pick another slug`, {
          cause: err,
          context: { tenant: slug },
        });
      }
      throw err;
    }
  }

  /** Changes a live tenant's name, plan and/or metadata, with an activity entry. */
  async update(
    id: string,
    patch: { name?: string; plan?: string | null; metadata?: Record<string, unknown> },
    actor: string | undefined,
  ): Promise<Tenant | undefined> {
    const { rows } = await this.#db.query<TenantRow>(
      `with prev as (select id, name, plan from tenantry.tenants where id = $1 and status not in ('DELETING', 'DELETED') for update),
       upd as (
         update tenantry.tenants t
            set name = coalesce($2, t.name),
                plan = case when $3 then $4 else t.plan end,
                metadata = coalesce($5::jsonb, t.metadata),
                updated_at = now()
           from prev where t.id = prev.id returning t.*),
       act as (
         insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
         select id, 'update', status, status, $6, $7::jsonb from upd)
       select ${UPD_COLUMNS}, ${NOTIFY}(upd.id::text) from upd`,
      [
        id,
        patch.name ?? null,
        patch.plan !== undefined,
        patch.plan ?? null,
        patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
        actor ?? null,
        JSON.stringify({ fields: Object.keys(patch) }),
      ],
    );
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  /** Mirrors a tenant's ledger rows into the registry. */
  async recordMigrations(
    db: Queryable,
    tenantId: string,
    applied: readonly { name: string; checksum: string; appliedAt: Date; durationMs: number }[],
  ): Promise<void> {
    if (applied.length === 0) return;
    await db.query(
      `insert into tenantry.tenant_migrations (tenant_id, name, checksum, applied_at, duration_ms)
       select $1, * from unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[])
       on conflict (tenant_id, name) do update set checksum = excluded.checksum, applied_at = excluded.applied_at, duration_ms = excluded.duration_ms`,
      [
        tenantId,
        applied.map((a) => a.name),
        applied.map((a) => a.checksum),
        applied.map((a) => a.appliedAt),
        applied.map((a) => a.durationMs),
      ],
    );
  }

  /** Registers a custom domain. Throws `DOMAIN_EXISTS` when it is taken. */
  async addDomain(tenantId: string, domain: string, actor: string | undefined): Promise<void> {
    try {
      await this.#db.query(
        `with ins as (insert into tenantry.tenant_domains (domain, tenant_id) values ($1, $2) returning tenant_id),
         act as (insert into tenantry.activity (tenant_id, action, actor, detail) select tenant_id, 'domain-add', $3, jsonb_build_object('domain', $1::text) from ins)
         select ${NOTIFY}(tenant_id::text) from ins`,
        [domain, tenantId, actor ?? null],
      );
    } catch (err) {
      if (sqlState(err) === '23505') {
        throw new TenantryError(ErrorCodes.DOMAIN_EXISTS, `domain '${domain}' is already registered; remove it from its tenant first`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Removes a custom domain of a tenant; true when it existed. */
  async removeDomain(tenantId: string, domain: string, actor: string | undefined): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `with del as (delete from tenantry.tenant_domains where domain = $1 and tenant_id = $2 returning tenant_id),
       act as (insert into tenantry.activity (tenant_id, action, actor, detail) select tenant_id, 'domain-remove', $3, jsonb_build_object('domain', $1::text) from del)
       select ${NOTIFY}(tenant_id::text) from del`,
      [domain, tenantId, actor ?? null],
    );
    return (rowCount ?? 0) > 0;
  }

  /** A tenant's custom domains, sorted. */
  async domains(tenantId: string): Promise<string[]> {
    const { rows } = await this.#db.query<{ domain: string }>(
      'select domain from tenantry.tenant_domains where tenant_id = $1 order by domain',
      [tenantId],
    );
    return rows.map((r) => r.domain);
  }

  /** The tenant id a custom domain belongs to. */
  async tenantIdForDomain(domain: string, db: Queryable = this.#db): Promise<string | undefined> {
    const { rows } = await db.query<{ tenant_id: string }>('select tenant_id from tenantry.tenant_domains where domain = $1', [domain]);
    return rows[0]?.tenant_id;
  }

  /**
   * Every tenant a migration run may touch (ACTIVE, MIGRATING, and FAILED ones that were
   * provisioned), with the names of source migrations the registry mirror says are applied
   * with the same checksum. One query, no tenant connection: how "nothing pending" is known.
   */
  async migrationCandidates(
    source: readonly { name: string; checksum: string }[],
    ids: readonly string[] | null,
  ): Promise<{ tenant: Tenant; applied: string[]; provisioned: boolean }[]> {
    const { rows } = await this.#db.query<TenantRow & { applied: string[]; provisioned: boolean }>(
      `with src as (select * from unnest($1::text[], $2::text[]) as s(name, checksum))
       select ${COLUMNS},
              array(select m.name from tenantry.tenant_migrations m join src on src.name = m.name and src.checksum = m.checksum
                     where m.tenant_id = t.id) as applied,
              exists (select 1 from tenantry.tenant_migrations m where m.tenant_id = t.id) or t.schema_version is not null as provisioned
         from tenantry.tenants t
        where t.status in ('ACTIVE', 'MIGRATING', 'MIGRATION_FAILED', 'FAILED') and t.kind in ('tenant', 'pending')
          and ($3::uuid[] is null or t.id = any($3::uuid[]))
        order by t.seq`,
      [source.map((m) => m.name), source.map((m) => m.checksum), ids],
    );
    return rows
      .filter((r) => r.status !== 'FAILED' || r.provisioned)
      .map((r) => ({ tenant: toTenant(r), applied: r.applied, provisioned: r.provisioned }));
  }

  /** Replaces a tenant's mirrored ledger with `applied` (after a migration, rollback or repair). */
  async replaceMigrations(
    db: Queryable,
    tenantId: string,
    applied: readonly { name: string; checksum: string; appliedAt: Date; durationMs: number }[],
  ): Promise<void> {
    await db.query('delete from tenantry.tenant_migrations where tenant_id = $1 and not (name = any($2::text[]))', [
      tenantId,
      applied.map((a) => a.name),
    ]);
    await this.recordMigrations(db, tenantId, applied);
  }

  /** Tenants per schema version, and failures, for `migrationStatus()`. */
  async migrationOverview(): Promise<{
    versions: { version: string | null; tenants: number }[];
    failed: { id: string; slug: string; error: string | null }[];
    migrating: number;
  }> {
    const versions = await this.#db.query<{ version: string | null; tenants: number }>(
      `select schema_version as version, count(*)::int as tenants from tenantry.tenants
        where status in ('ACTIVE', 'SUSPENDED', 'MIGRATING', 'MIGRATION_FAILED', 'FAILED') and kind = 'tenant'
        group by schema_version order by schema_version nulls first`,
    );
    const failed = await this.#db.query<{ id: string; slug: string; error: string | null }>(
      `select id, slug, error_message as error from tenantry.tenants where status in ('FAILED', 'MIGRATION_FAILED') and kind = 'tenant' order by seq`,
    );
    const migrating = await this.#db.query<{ n: number }>(`select count(*)::int as n from tenantry.tenants where status = 'MIGRATING'`);
    return { versions: versions.rows, failed: failed.rows, migrating: migrating.rows[0]?.n ?? 0 };
  }

  /** Live tenants without a role (created before per-tenant roles). */
  async withoutRole(): Promise<Tenant[]> {
    const { rows } = await this.#db.query<TenantRow>(
      `select ${COLUMNS} from tenantry.tenants where role is null and status in ('ACTIVE', 'SUSPENDED', 'MIGRATING', 'MIGRATION_FAILED', 'FAILED') order by seq`,
    );
    return rows.map(toTenant);
  }

  /** Records the role a tenant now has. */
  async setRole(id: string, role: string): Promise<void> {
    await this.#db.query(
      `with upd as (update tenantry.tenants set role = $2, updated_at = now() where id = $1 returning id),
       act as (insert into tenantry.activity (tenant_id, action, actor, detail) select id, 'role-assigned', 'reconcile', jsonb_build_object('role', $2::text) from upd)
       select ${NOTIFY}(id::text) from upd`,
      [id, role],
    );
  }

  /** How many tenants are in each status (mobility copies are not tenants). */
  async countByStatus(): Promise<Record<string, number>> {
    const { rows } = await this.#db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from tenantry.tenants where kind = 'tenant' group by status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Tenants left PROVISIONING or DELETING, with the migration a PROVISIONING one was heading to. */
  async stuck(): Promise<{ tenant: Tenant; targetVersion: string | null }[]> {
    const { rows } = await this.#db.query<TenantRow & { target_version: string | null }>(
      `select ${COLUMNS}, target_version from tenantry.tenants where status in ('PROVISIONING', 'DELETING') order by seq`,
    );
    return rows.map((r) => ({ tenant: toTenant(r), targetVersion: r.target_version }));
  }

  /** The live tenant (not DELETED) created with idempotency key `key`, and the hash of that request. */
  async findByIdempotencyKey(key: string, db: Queryable = this.#db): Promise<{ tenant: Tenant; requestHash: string | null } | undefined> {
    const { rows } = await db.query<TenantRow & { request_hash: string | null }>(
      `select ${COLUMNS}, request_hash from tenantry.tenants where idempotency_key = $1 and status <> 'DELETED'`,
      [key],
    );
    return rows[0] ? { tenant: toTenant(rows[0]), requestHash: rows[0].request_hash } : undefined;
  }

  /** The last migration a PROVISIONING tenant is being provisioned to ('' = none; null: not recorded). */
  async provisioningTarget(id: string, db: Queryable = this.#db): Promise<string | null> {
    const { rows } = await db.query<{ target_version: string | null }>('select target_version from tenantry.tenants where id = $1', [id]);
    return rows[0]?.target_version ?? null;
  }

  /** This registry's identity, which marks its schemas and databases. */
  async registryId(): Promise<string> {
    const { rows } = await this.#db.query<{ id: string }>('select id from tenantry.registry_info');
    return rows[0]!.id;
  }

  /**
   * `<server>/<name>` of every container a tenant may own (all but DELETED tenants; the name a
   * pending physical rename goes to as well): see {@link containerKey}.
   */
  async ownedContainers(): Promise<Set<string>> {
    const { rows } = await this.#db.query<{ physical_name: string; physical_rename_to: string | null; server_id: string }>(
      `select physical_name, physical_rename_to, server_id from tenantry.tenants where status <> 'DELETED'`,
    );
    return new Set(
      rows.flatMap((r) => [
        containerKey(r.server_id, r.physical_name),
        ...(r.physical_rename_to === null ? [] : [containerKey(r.server_id, r.physical_rename_to)]),
      ]),
    );
  }

  /**
   * The live tenant (not DELETED) on `server` that holds `name` as its physical name, as the
   * name a pending physical rename goes to, or as its role; undefined when none does.
   */
  async physicalNameHolder(server: string, name: string, db: Queryable = this.#db): Promise<{ id: string; slug: string } | undefined> {
    const { rows } = await db.query<{ id: string; slug: string }>(
      `select id, slug from tenantry.tenants
        where server_id = $1 and status <> 'DELETED' and (physical_name = $2 or physical_rename_to = $2 or role = $2) limit 1`,
      [server, name],
    );
    return rows[0];
  }

  /** The name a pending physical rename of the tenant goes to; null when none is pending. */
  async pendingPhysicalRename(id: string, db: Queryable = this.#db): Promise<string | null> {
    const { rows } = await db.query<{ to: string | null }>('select physical_rename_to as to from tenantry.tenants where id = $1', [id]);
    return rows[0]?.to ?? null;
  }

  /** Tenants with a physical rename pending (a process stopped in the middle of one, or one is under way). */
  async pendingPhysicalRenames(): Promise<Tenant[]> {
    const { rows } = await this.#db.query<TenantRow>(
      `select ${COLUMNS} from tenantry.tenants where physical_rename_to is not null and status <> 'DELETED' order by seq`,
    );
    return rows.map(toTenant);
  }

  /**
   * Records, committed before the container is touched, that the tenant's physical name is going
   * from `from` to `to`: the name is held from now on, and `reconcile()` settles the rename when
   * the process stops. False when the tenant is not in `statuses`, no longer named `from`, or a
   * rename is pending already. Throws `TENANT_EXISTS` when another live tenant on the server holds `to`.
   */
  async beginPhysicalRename(
    id: string,
    change: { from: string; to: string; server: string; statuses: readonly TenantStatus[]; actor: string | undefined },
  ): Promise<boolean> {
    try {
      const { rows } = await this.#db.query<{ id: string }>(
        `with upd as (
           update tenantry.tenants t set physical_rename_to = $3, updated_at = now()
            where t.id = $1 and t.physical_name = $2 and t.physical_rename_to is null and t.status = any($5::text[])
              and not exists (select 1 from tenantry.tenants o
                               where o.id <> t.id and o.server_id = $4 and o.status <> 'DELETED'
                                 and (o.physical_name = $3 or o.physical_rename_to = $3 or o.role = $3))
           returning t.id, t.status),
         act as (
           insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
           select id, 'physical-rename-started', status, status, $6, jsonb_build_object('from', $2::text, 'to', $3::text) from upd)
         select upd.id from upd`,
        [id, change.from, change.to, change.server, change.statuses, change.actor ?? null],
      );
      if (rows.length === 1) return true;
      if ((await this.physicalNameHolder(change.server, change.to)) !== undefined) throw physicalNameTaken(change.to, change.server);
      return false;
    } catch (err) {
      if (sqlState(err) === '23505') throw physicalNameTaken(change.to, change.server, err);
      throw err;
    }
  }

  /**
   * Ends a pending physical rename: `finished` switches the tenant to the name it was going to
   * (and its role too when `roleRenamed`); otherwise the rename is dropped and the tenant keeps
   * its name. Written with its activity entry and announced, in one statement.
   */
  async endPhysicalRename(
    id: string,
    outcome: { finished: boolean; roleRenamed: boolean; actor: string | undefined; detail?: Record<string, unknown> },
    db: Queryable = this.#db,
  ): Promise<Tenant | undefined> {
    const { rows } = await db.query<TenantRow>(
      `with prev as (select id, physical_name, physical_rename_to, role from tenantry.tenants where id = $1 and physical_rename_to is not null for update),
       upd as (
         update tenantry.tenants t
            set physical_name = case when $2 then prev.physical_rename_to else t.physical_name end,
                role = case when $2 and $3 then prev.physical_rename_to else t.role end,
                physical_rename_to = null, updated_at = now()
           from prev where t.id = prev.id
         returning t.*, prev.physical_name as prev_name, prev.physical_rename_to as prev_to),
       act as (
         insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail)
         select id, case when $2 then 'physical-rename' else 'physical-rename-undone' end, status, status, $4,
                jsonb_build_object('from', prev_name, 'to', prev_to, 'role', $2 and $3) || $5::jsonb from upd)
       select ${UPD_COLUMNS}, ${NOTIFY}(upd.id::text) from upd`,
      [id, outcome.finished, outcome.roleRenamed, outcome.actor ?? null, JSON.stringify(outcome.detail ?? {})],
    );
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  /** Tenants in creation order, a page at a time (never a mobility copy). */
  async list(opts: {
    status: TenantStatus | undefined;
    limit: number;
    after: string | undefined;
  }): Promise<{ tenants: Tenant[]; last: string | undefined }> {
    const { rows } = await this.#db.query<TenantRow & { seq: string }>(
      `select ${COLUMNS}, seq from tenantry.tenants
        where kind = 'tenant' and ($1::text is null or status = $1) and ($2::bigint is null or seq > $2)
        order by seq limit $3`,
      [opts.status ?? null, opts.after ?? null, opts.limit],
    );
    return { tenants: rows.map(toTenant), last: rows.length === opts.limit ? rows[rows.length - 1]?.seq : undefined };
  }

  /** A tenant's activity, oldest first. */
  async activity(tenantId: string, limit: number): Promise<ActivityEntry[]> {
    const { rows } = await this.#db.query<{
      id: string;
      tenant_id: string;
      action: string;
      from_status: TenantStatus | null;
      to_status: TenantStatus | null;
      actor: string | null;
      detail: Record<string, unknown>;
      error: string | null;
      created_at: Date;
    }>(
      `select a.id::text as id, a.tenant_id, a.action, a.from_status, a.to_status, a.actor, a.detail, a.error, a.created_at
         from tenantry.activity a where a.tenant_id = $1 order by a.id limit $2`,
      [tenantId, limit],
    );
    return rows.map((r) =>
      Object.freeze({
        id: r.id,
        tenantId: r.tenant_id,
        action: r.action,
        fromStatus: r.from_status,
        toStatus: r.to_status,
        actor: r.actor,
        detail: Object.freeze(r.detail),
        error: r.error,
        createdAt: r.created_at,
      }),
    );
  }
}
