/**
 * The replication side of an online move (docs/mobility.md): a publication of the tenant's data
 * tables and a logical replication slot on the source, a subscription on the target's new copy,
 * waiting for the copy to catch up, the sequences, and the clean-up of all of it — also by
 * `reconcile()` after a process stopped at any step, from what the job recorded before it made
 * anything (`detail.online`).
 *
 * PostgreSQL applies a subscription's changes to the table of the same schema and name, so the
 * new copy's tables must be in a schema named like the source's while they replicate: the
 * copy's schema (`t_<staging id>`, or a new database's `public`) is renamed to the source's
 * schema name for that time and back before the registry switch. That cannot be done for a
 * database tenant moving to the schema tier (its tables are in `public`, which the target
 * server's database already has): that move is offline.
 *
 * Every statement runs on connections of the servers' own (administrative) logins, which need
 * to be superusers: `CREATE PUBLICATION`, a replication slot and `CREATE SUBSCRIPTION`. Names of
 * the objects come from the job id only.
 */
import { quoteIdent } from '../identifiers.js';
import type { TenancyInternals } from '../internals.js';
import type { PooledClient } from '../server-pool.js';
import type { IsolationKind, Tenant } from '../types.js';

/** Where one side of an online move lives: a server and a database (null: the server's own). */
export interface ReplicationSide {
  readonly server: string;
  readonly database: string | null;
  /** The schema holding the tenant's tables (the target's only while it replicates, see `rename`). */
  readonly schema: string;
}

/** What an online move makes, recorded in its job before it is made. */
export interface OnlineReplication {
  readonly slot: string;
  readonly publication: string;
  readonly subscription: string;
  readonly source: ReplicationSide;
  /** Set once the new copy's container exists. */
  readonly target?: ReplicationSide & {
    /** The target's schema is renamed from this (its own name) to the source's schema while it replicates. */
    readonly renamedFrom: string | null;
  };
}

/** Why an online move is not possible (so the move is offline), or undefined when it is. */
export async function whyNotOnline(
  d: TenancyInternals,
  tenant: Tenant,
  target: { server: string; isolation: IsolationKind },
): Promise<string | undefined> {
  if (tenant.isolation === 'database' && target.isolation === 'schema')
    return 'a database tenant keeps its tables in public, which a schema tenant cannot take while it replicates';
  if (tenant.status !== 'ACTIVE') return `the tenant is ${tenant.status}`;
  // The old copy is closed to writes at the switch by revoking them from the tenant's role.
  if (tenant.role === null)
    return 'the tenant has no role of its own (tenantRoles: false), so its old copy cannot be closed to writes at the switch';
  const src = await d.router.admin(tenant.server);
  const { rows } = await src.query<{ wal: string; su: boolean }>(
    `select current_setting('wal_level') as wal, (select rolsuper from pg_roles where rolname = current_user) as su`,
  );
  if (rows[0]?.wal !== 'logical')
    return `server '${tenant.server}' has wal_level = ${rows[0]?.wal ?? '?'} (logical replication needs logical)`;
  if (rows[0]?.su !== true) return `server '${tenant.server}' is reached with a login that is not a superuser`;
  if (target.server !== tenant.server) {
    const dst = await d.router.admin(target.server);
    const { rows: t } = await dst.query<{ su: boolean }>(`select rolsuper as su from pg_roles where rolname = current_user`);
    if (t[0]?.su !== true) return `server '${target.server}' is reached with a login that is not a superuser`;
  }
  return undefined;
}

/** The tables (`schema.table`, quoted) that have no replica identity: UPDATE and DELETE would fail on them once published. */
export async function tablesWithoutIdentity(client: PooledClient, schema: string, tables: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ t: string }>(
    `select c.oid::regclass::text as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.oid = any($2::regclass[])
        and (c.relreplident = 'n' or (c.relreplident = 'd' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary)))`,
    [schema, tables],
  );
  return rows.map((r) => r.t);
}

/** The names of an online move's objects: from its job id only. */
export function replicationNames(job: string): { slot: string; publication: string; subscription: string } {
  const n = `tenantry_${job.replace(/-/g, '')}`;
  return { slot: n, publication: n, subscription: n };
}

/** Runs `fn` on an administrative connection to `side`'s database. */
export async function onSide<T>(
  d: TenancyInternals,
  side: { server: string; database: string | null },
  fn: (c: PooledClient) => Promise<T>,
): Promise<T> {
  const client = await d.router.connect({ server: side.server, ...(side.database === null ? {} : { database: side.database }) });
  try {
    const value = await fn(client);
    d.router.release(client);
    return value;
  } catch (err) {
    d.router.release(client, err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

/** Renames `from` to `to` in the connection's database when `from` exists and `to` does not. */
export async function renameSchema(c: PooledClient, from: string, to: string): Promise<void> {
  const { rows } = await c.query<{ f: boolean; t: boolean }>(
    `select exists (select 1 from pg_namespace where nspname = $1) as f, exists (select 1 from pg_namespace where nspname = $2) as t`,
    [from, to],
  );
  if (rows[0]?.f === true && rows[0]?.t !== true) await c.query(`alter schema ${quoteIdent(from)} rename to ${quoteIdent(to)}`);
}

/** On the source: the publication of `tables` and the slot (made apart from the subscription: same-cluster subscriptions cannot make their own). */
export async function publish(d: TenancyInternals, r: OnlineReplication, tables: readonly string[]): Promise<void> {
  await onSide(d, r.source, async (c) => {
    await c.query(`create publication ${quoteIdent(r.publication)} for table ${tables.join(', ')}`);
  });
  await onSide(d, r.source, async (c) => {
    await c.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [r.slot]);
  });
}

/** On the target: the subscription to the source (`sourceUrl`: the source server's URL, from the server registry). */
export async function subscribe(d: TenancyInternals, r: OnlineReplication, sourceUrl: string): Promise<void> {
  const url = new URL(sourceUrl);
  const database = r.source.database ?? (await d.router.mainDatabase(r.source.server));
  url.pathname = `/${encodeURIComponent(database)}`;
  await onSide(d, r.target!, async (c) => {
    // format() quotes the connection string: no text is spliced into the statement.
    const { rows } = await c.query<{ sql: string }>(
      `select format('create subscription %I connection %L publication %I with (create_slot = false, slot_name = %L, copy_data = true, synchronous_commit = on)', $1::text, $2::text, $3::text, $4::text) as sql`,
      [r.subscription, url.toString(), r.publication, r.slot],
    );
    await c.query(rows[0]!.sql);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every table finished its initial copy (`srsubstate = 'r'`), then until the slot confirmed the source's current position. */
export async function waitCaughtUp(d: TenancyInternals, r: OnlineReplication, deadline: number): Promise<void> {
  for (;;) {
    const pending = await onSide(d, r.target!, async (c) => {
      const { rows } = await c.query<{ n: number; err: string | null }>(
        `select count(*) filter (where r.srsubstate <> 'r')::int as n from pg_subscription s join pg_subscription_rel r on r.srsubid = s.oid
          where s.subname = $1`,
        [r.subscription],
      );
      return rows[0]?.n ?? 1;
    });
    if (pending === 0) break;
    if (Date.now() > deadline) throw new Error(`the new copy's initial copy did not finish in time (${pending} tables pending)`);
    await sleep(50);
  }
  await waitFlushed(d, r, await sourcePosition(d, r), deadline);
}

/**
 * The source's WAL position after every transaction committed so far, flushed so that the
 * walsender can send it. Not `pg_current_wal_lsn()`: that is the WAL *written* out, which an
 * asynchronous commit (`synchronous_commit = off`, on the server or in a transaction) may not
 * have reached yet — a write committed that way just before the cutover would then be past the
 * position the copy is waited for, and lost. The insert position covers it; a small transaction
 * committed synchronously flushes the WAL up to there.
 */
export async function sourcePosition(d: TenancyInternals, r: OnlineReplication): Promise<string> {
  return await onSide(d, r.source, async (c) => {
    await c.query('begin');
    try {
      const { rows } = await c.query<{ l: string }>(
        `select pg_catalog.set_config('synchronous_commit', 'on', true), pg_current_xact_id(), pg_current_wal_insert_lsn()::text as l`,
      );
      await c.query('commit');
      return rows[0]!.l;
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  });
}

/** Waits until the subscription confirmed (flushed) the source's WAL up to `lsn`. */
export async function waitFlushed(d: TenancyInternals, r: OnlineReplication, lsn: string, deadline: number): Promise<void> {
  await onSide(d, r.source, async (c) => {
    for (;;) {
      const { rows } = await c.query<{ ok: boolean | null }>(
        `select confirmed_flush_lsn >= $2::pg_lsn as ok from pg_replication_slots where slot_name = $1`,
        [r.slot, lsn],
      );
      if (rows[0]?.ok === true) return;
      if (Date.now() > deadline) throw new Error(`the new copy did not catch up with ${lsn} in time`);
      await sleep(5);
    }
  });
}

/** Sets every sequence of the target copy to the source's position (`source`: a connection in the source's database). */
export async function syncSequences(d: TenancyInternals, r: OnlineReplication, source: PooledClient): Promise<number> {
  const { rows } = await source.query<{ name: string; last_value: string; is_called: boolean }>(
    `select s.sequencename as name, coalesce(s.last_value, s.start_value)::text as last_value, s.last_value is not null as is_called
       from pg_sequences s where s.schemaname = $1 order by 1`,
    [r.source.schema],
  );
  await onSide(d, r.target!, async (c) => {
    for (const s of rows)
      await c.query('select pg_catalog.setval($1::regclass, $2::bigint, $3)', [
        `${quoteIdent(r.target!.schema)}.${quoteIdent(s.name)}`,
        s.last_value,
        s.is_called,
      ]);
  });
  return rows.length;
}

/** On the target: drops the subscription (not its slot: dropped on the source), then gives the copy's schema its own name back. */
export async function unsubscribe(d: TenancyInternals, r: OnlineReplication): Promise<void> {
  const t = r.target;
  if (t === undefined) return;
  await onSide(d, t, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_subscription where subname = $1 and subdbid = (select oid from pg_database where datname = current_database())`,
      [r.subscription],
    );
    if ((rows[0]?.n ?? 0) > 0) {
      await c.query(`alter subscription ${quoteIdent(r.subscription)} disable`);
      await c.query(`alter subscription ${quoteIdent(r.subscription)} set (slot_name = none)`);
      await c.query(`drop subscription ${quoteIdent(r.subscription)}`);
    }
    if (t.renamedFrom !== null) await renameSchema(c, t.schema, t.renamedFrom);
  });
}

/** On the source: drops the slot (ending its sender first) and the publication, if they exist. */
export async function unpublish(d: TenancyInternals, r: OnlineReplication): Promise<void> {
  await onSide(d, r.source, async (c) => {
    for (let attempt = 0; ; attempt++) {
      const { rows } = await c.query<{ pid: number | null }>('select active_pid as pid from pg_replication_slots where slot_name = $1', [
        r.slot,
      ]);
      if (rows.length === 0) break;
      try {
        if (rows[0]!.pid !== null) await c.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        await c.query('select pg_drop_replication_slot($1)', [r.slot]);
        break;
      } catch (err) {
        // 55006: the slot is still active (its sender is exiting).
        if ((err as { code?: string }).code !== '55006' || attempt > 100) throw err;
        await sleep(20);
      }
    }
    await c.query(`drop publication if exists ${quoteIdent(r.publication)}`);
  });
}

/** Cancels the statements waiting for a lock on the source's tenant tables (writers that passed the gate before it closed). */
/**
 * Closes the old copy to writes, in the source transaction that holds its tables' lock, before
 * that lock is released: a unit of work that resolved the tenant before the cutover and reaches
 * the old copy only after the switch then fails (42501) instead of writing where nobody reads.
 */
export async function closeOldCopy(source: PooledClient, schema: string, role: string): Promise<void> {
  await source.query(`revoke insert, update, delete, truncate on all tables in schema ${quoteIdent(schema)} from ${quoteIdent(role)}`);
}

export async function cancelLockWaiters(source: PooledClient, schema: string): Promise<number> {
  const { rows } = await source.query<{ n: number }>(
    `select count(pg_cancel_backend(l.pid))::int as n from pg_locks l join pg_class c on c.oid = l.relation
       join pg_namespace n on n.oid = c.relnamespace
      where not l.granted and n.nspname = $1 and l.pid <> pg_backend_pid()
        and l.database = (select oid from pg_database where datname = current_database())`,
    [schema],
  );
  return rows[0]?.n ?? 0;
}
