import type { AdminPool } from '../connection-router.js';
import type { Logger } from '../logger.js';
import { inTransaction } from '../transaction.js';

/**
 * The registry's own schema, versioned. Append new versions; never edit an applied one.
 * Applied at start, in one transaction, under an advisory lock so that processes starting
 * together do not collide.
 */
export const REGISTRY_MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: 'tenants, domains, servers, migrations ledger mirror, activity',
    sql: `
      create table tenantry.servers (
        id          text primary key check (id ~ '^[a-z][a-z0-9-]{0,62}$'),
        url         text,
        capacity    integer check (capacity is null or capacity >= 0),
        replica_url text,
        draining    boolean not null default false,
        created_at  timestamptz not null default now()
      );
      insert into tenantry.servers (id, url) values ('default', null);

      create table tenantry.tenants (
        id                uuid primary key,
        seq               bigint generated always as identity unique,
        slug              text not null,
        name              text not null,
        status            text not null check (status in ('PROVISIONING','ACTIVE','SUSPENDED','MIGRATING','FAILED','DELETING','DELETED')),
        isolation         text not null default 'schema' check (isolation in ('schema','database')),
        server_id         text not null default 'default' references tenantry.servers (id),
        physical_name     text not null unique,
        schema_version    text,
        last_migration_at timestamptz,
        error_message     text,
        plan              text,
        metadata          jsonb not null default '{}'::jsonb,
        created_at        timestamptz not null default now(),
        updated_at        timestamptz not null default now(),
        deleted_at        timestamptz
      );
      -- A slug belongs to at most one tenant that is not DELETED.
      create unique index tenants_live_slug on tenantry.tenants (slug) where status <> 'DELETED';
      create index tenants_status on tenantry.tenants (status);

      create table tenantry.tenant_domains (
        domain     text primary key,
        tenant_id  uuid not null references tenantry.tenants (id) on delete cascade,
        created_at timestamptz not null default now()
      );

      create table tenantry.tenant_migrations (
        tenant_id   uuid not null references tenantry.tenants (id) on delete cascade,
        name        text not null,
        checksum    text not null,
        applied_at  timestamptz not null,
        duration_ms integer not null,
        primary key (tenant_id, name)
      );

      create table tenantry.activity (
        id          bigint generated always as identity primary key,
        tenant_id   uuid not null references tenantry.tenants (id) on delete cascade,
        action      text not null,
        from_status text,
        to_status   text,
        actor       text,
        detail      jsonb not null default '{}'::jsonb,
        error       text,
        created_at  timestamptz not null default clock_timestamp()
      );
      create index activity_tenant on tenantry.activity (tenant_id, id);
    `,
  },
  {
    version: 2,
    name: 'placement index',
    sql: `create index tenants_live_server on tenantry.tenants (server_id) where status <> 'DELETED';`,
  },
  {
    version: 3,
    name: 'per-tenant roles',
    sql: `
      -- The tenant's own role; null for tenants created before roles (reconcile() assigns them).
      alter table tenantry.tenants add column role text;
      -- Tenant roles must never read the registry.
      revoke all on schema tenantry from public;
      revoke all on all tables in schema tenantry from public;
    `,
  },
  {
    version: 4,
    name: 'provisioning target and registry identity',
    sql: `
      -- The last migration a tenant is being provisioned to: reconcile() finishes it only when its
      -- ledger reached it, whatever migrations the reconciling process has.
      alter table tenantry.tenants add column target_version text;
      -- Marks this registry's schemas and databases (COMMENT 'tenantry:<id>'), so that orphans
      -- are told apart from other registries' tenants on a shared server.
      create table tenantry.registry_info (
        singleton  boolean primary key default true check (singleton),
        id         uuid not null default gen_random_uuid(),
        created_at timestamptz not null default now()
      );
      insert into tenantry.registry_info default values;
    `,
  },
  {
    version: 5,
    name: 'signed change notifications',
    sql: `
      -- NOTIFY needs no privilege: tenant SQL could announce changes. Tenantry's announcements
      -- carry a tag made with these keys (see registry-notification.ts), which tenant roles cannot
      -- read. Two uuids give 244 random bits per key.
      create table tenantry.notify_key (
        singleton boolean primary key default true check (singleton),
        inner_key bytea not null,
        outer_key bytea not null
      );
      insert into tenantry.notify_key (inner_key, outer_key) values (
        decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'),
        decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
      revoke all on tenantry.notify_key from public;

      -- Announces a change of one tenant (its id) or of everything ('*') to every process.
      create function tenantry.notify_change(target text) returns void
        language sql volatile
        set search_path = pg_catalog, pg_temp
      as $fn$
        select pg_notify('tenantry_tenants', m.body || '.' ||
                 encode(sha256(k.outer_key || sha256(k.inner_key || convert_to(m.body, 'UTF8'))), 'hex'))
          from tenantry.notify_key k,
               lateral (select 'v1.' || target || '.' || floor(extract(epoch from clock_timestamp()) * 1000)::bigint::text
                               || '.' || replace(gen_random_uuid()::text, '-', '') as body) m
      $fn$;
      revoke all on function tenantry.notify_change(text) from public;
    `,
  },
  {
    version: 6,
    name: 'migration failures apart from provisioning failures; idempotency keys',
    sql: `
      -- MIGRATION_FAILED: a migration failed on the tenant, its data is intact (FAILED stays for
      -- provisioning failures, where nothing was kept).
      alter table tenantry.tenants drop constraint tenants_status_check;
      alter table tenantry.tenants add constraint tenants_status_check
        check (status in ('PROVISIONING','ACTIVE','SUSPENDED','MIGRATING','FAILED','DELETING','DELETED','MIGRATION_FAILED'));
      -- Tenants a migration failed on were FAILED too: those that were provisioned (they have a
      -- version or a ledger) are migration failures.
      update tenantry.tenants t set status = 'MIGRATION_FAILED'
       where status = 'FAILED'
         and (schema_version is not null or exists (select 1 from tenantry.tenant_migrations m where m.tenant_id = t.id));
      -- The idempotency key of the create that made the tenant, and a hash of that request: a
      -- retry with the same key gets the same tenant. Freed when the tenant is DELETED.
      alter table tenantry.tenants add column idempotency_key text, add column request_hash text;
      create unique index tenants_idempotency_key on tenantry.tenants (idempotency_key)
       where idempotency_key is not null and status <> 'DELETED';
    `,
  },
  {
    version: 7,
    name: 'strict tenants: their login role password, encrypted',
    sql: `
      -- A strict tenant's connections log in as its own role; its password, encrypted with the
      -- servers' key (v1:<key id>:…). Null for every other tenant.
      alter table tenantry.tenants add column login_secret text;
    `,
  },
  {
    version: 8,
    name: 'mobility jobs: restores in place and moves',
    sql: `
      -- A restore in place or a move of a tenant: running from the tenant's suspension until the
      -- registry switches it to its new copy (staging_id, a PROVISIONING row until then), which
      -- marks the job done in the same transaction. reconcile() undoes a job left running.
      create table tenantry.mobility_jobs (
        id              uuid primary key,
        kind            text not null check (kind in ('restore', 'move')),
        tenant_id       uuid not null references tenantry.tenants (id) on delete cascade,
        staging_id      uuid references tenantry.tenants (id) on delete set null,
        previous_status text not null,
        state           text not null check (state in ('running', 'done', 'undone')),
        retain_until    timestamptz,
        detail          jsonb not null default '{}'::jsonb,
        created_at      timestamptz not null default now(),
        finished_at     timestamptz
      );
      create index mobility_jobs_running on tenantry.mobility_jobs (created_at) where state = 'running';
      create index mobility_jobs_retained on tenantry.mobility_jobs (retain_until) where state = 'done' and retain_until is not null;
      revoke all on tenantry.mobility_jobs from public;
    `,
  },
  {
    version: 9,
    name: 'mobility copies are not tenants',
    sql: `
      -- 'tenant': a tenant. 'copy': a staging copy of a restore in place or a move, or a moved
      -- tenant's retained old copy. A copy is never listed, counted, resolved, routed or migrated;
      -- reconcile() and purge-moved still see it (see docs/mobility.md).
      alter table tenantry.tenants add column kind text not null default 'tenant' check (kind in ('tenant', 'copy'));
      update tenantry.tenants t set kind = 'copy' where exists (select 1 from tenantry.mobility_jobs j where j.staging_id = t.id);
      -- A slug names one live tenant; copies' generated slugs never take one from a tenant.
      drop index tenantry.tenants_live_slug;
      create unique index tenants_live_slug on tenantry.tenants (slug) where status <> 'DELETED' and kind = 'tenant';
    `,
  },
  {
    version: 10,
    name: 'caller-chosen physical names and physical renames',
    sql: `
      -- A physical name (schema, database and role name) is held by a tenant until it is DELETED,
      -- per server: a deleted tenant's name may be chosen again.
      alter table tenantry.tenants drop constraint tenants_physical_name_key;
      create unique index tenants_live_physical_name on tenantry.tenants (server_id, physical_name) where status <> 'DELETED';
      -- The name a physical rename is taking the tenant to, set (committed) before its container
      -- is renamed and cleared with the switch of physical_name: reconcile() finishes or undoes a
      -- rename a stopped process left here. Held like physical_name meanwhile.
      alter table tenantry.tenants add column physical_rename_to text;
      create unique index tenants_physical_rename_to on tenantry.tenants (server_id, physical_rename_to)
       where physical_rename_to is not null;
    `,
  },
  {
    version: 11,
    name: 'pending tenants',
    sql: `
      -- 'pending': a tenant provisioned ahead of demand (options.pendingTenants). Migrated with the
      -- tenants, never listed, counted, resolved or routed; a create claims one by giving it its
      -- slug, name and kind 'tenant' in one statement (see docs/provisioning.md).
      alter table tenantry.tenants drop constraint tenants_kind_check;
      alter table tenantry.tenants add constraint tenants_kind_check check (kind in ('tenant', 'copy', 'pending'));
      create index tenants_pending on tenantry.tenants (isolation, server_id, seq) where kind = 'pending' and status = 'ACTIVE';
    `,
  },
  {
    version: 12,
    name: 'statements that raise instead of matching no row',
    sql: `
      -- A schema tenant in the registry's database is created in ONE transaction whose last round
      -- trip carries COMMIT behind the registry's statements. A statement that matched no row
      -- would let that COMMIT through; this makes it fail instead (and the batch with it):
      -- where tenantry.raise_unless(<condition>, '<SQLSTATE>', '<message>').
      create function tenantry.raise_unless(ok boolean, code text, message text) returns boolean
        language plpgsql volatile
        set search_path = pg_catalog, pg_temp
      as $fn$
      begin
        if ok then
          return true;
        end if;
        raise exception using errcode = code, message = message;
      end
      $fn$;
      revoke all on function tenantry.raise_unless(boolean, text, text) from public;
    `,
  },
];

/** Advisory lock key for registry migrations (an arbitrary constant; never change it). */
export const REGISTRY_LOCK_KEY = '8389736474527872633';

/**
 * Brings the registry schema to the latest version. Safe to call from many processes at once.
 * @returns the versions applied by this call.
 */
export async function migrateRegistry(pool: AdminPool, logger: Logger): Promise<number[]> {
  const applied = await inTransaction(
    () => pool.connect(),
    async (client) => {
      // Its own lock key (not a hashed name): every version of Tenantry takes this same lock.
      await client.query('select pg_advisory_xact_lock($1::bigint)', [REGISTRY_LOCK_KEY]);
      await client.query('create schema if not exists tenantry');
      await client.query(`create table if not exists tenantry.registry_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`);
      const { rows } = await client.query<{ version: number }>('select version from tenantry.registry_migrations');
      const done = new Set(rows.map((r) => r.version));
      const versions: number[] = [];
      for (const m of REGISTRY_MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('insert into tenantry.registry_migrations (version, name) values ($1, $2)', [m.version, m.name]);
        versions.push(m.version);
      }
      return versions;
    },
  );
  if (applied.length > 0) logger.info({ versions: applied }, 'tenantry registry migrated');
  return applied;
}
