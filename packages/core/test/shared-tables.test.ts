import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_STRINGS } from '@tenantry/testing';
import { setupHarness } from './helpers.js';
import type { Tenancy, Tenant } from '../src/index.js';

/**
 * Shared tables: a second migration set in a `shared` schema of each server's database and of
 * each tenant database, after the tenant's own schema on the search_path, read-only to tenants
 * unless a shared migration grants more.
 */
const h = await setupHarness();
const KEY = randomBytes(32).toString('hex');
const SHARED = mkdtempSync(join(tmpdir(), 'tenantry-shared-'));
writeFileSync(
  join(SHARED, '0001_plans.sql'),
  `create table plans (id text primary key, seats int not null);
insert into plans values ('starter', 3), ('business', 10);`,
);

let tenancy: Tenancy;
let schemaTenant: Tenant;
let dbTenant: Tenant;
let strictTenant: Tenant;

async function attempt(t: Tenant, sql: string): Promise<string> {
  try {
    await tenancy.withTenant(t.id, (db) => db.query(sql));
    return 'ok';
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).message);
  }
}

beforeAll(async () => {
  tenancy = await h.tenancy({ sharedMigrations: SHARED, encryptionKey: KEY, pool: { max: 6 } });
  schemaTenant = await tenancy.tenants.create({ slug: 'shared-schema', name: 'Schema tenant' });
  dbTenant = await tenancy.tenants.create({ slug: 'shared-db', name: 'Database tenant', isolation: 'database' });
  strictTenant = await tenancy.tenants.create({ slug: 'shared-strict', name: 'Strict tenant', isolation: 'database', strict: true });
});

describe('shared tables', () => {
  it('come after the tenant schema on the search path, so a tenant table of the same name wins', async () => {
    const path = await tenancy.withTenant(schemaTenant.id, (db) => db.query<{ p: string }>("select current_setting('search_path') as p"));
    expect(path.rows[0]!.p).toBe(`"${schemaTenant.physicalName}", "shared", pg_temp`);
    const dbPath = await tenancy.withTenant(dbTenant.id, (db) => db.query<{ p: string }>("select current_setting('search_path') as p"));
    expect(dbPath.rows[0]!.p).toBe('public, "shared", pg_temp');
    for (const t of [schemaTenant, dbTenant, strictTenant]) {
      const { rows } = await tenancy.withTenant(t.id, (db) => db.query<{ id: string }>('select id from plans order by seats'));
      expect(
        rows.map((r) => r.id),
        t.slug,
      ).toEqual(['starter', 'business']);
    }
    await tenancy.withTenant(schemaTenant.id, async (db) => {
      await db.query('create table plans (id text primary key)');
      await db.query("insert into plans values ('own')");
    });
    const own = await tenancy.withTenant(schemaTenant.id, (db) => db.query<{ id: string }>('select id from plans'));
    expect(own.rows).toEqual([{ id: 'own' }]);
    const shared = await tenancy.withTenant(schemaTenant.id, (db) =>
      db.query<{ n: number }>('select count(*)::int as n from shared.plans'),
    );
    expect(shared.rows[0]!.n).toBe(2);
    await tenancy.withTenant(schemaTenant.id, (db) => db.query('drop table plans'));
  });

  it('are read-only to every tenant tier: writes, DDL and grants are refused with 42501', async () => {
    const writes = [
      "insert into plans values ('free', 1)",
      'update plans set seats = 0',
      'delete from plans',
      'truncate plans',
      'alter table plans add column hacked int',
      'drop table plans',
      'create table shared.evil (id int)',
      "insert into _tenantry_shared_migrations (name, checksum, duration_ms) values ('x', 'y', 0)",
    ];
    for (const t of [schemaTenant, dbTenant, strictTenant])
      for (const sql of writes) expect(`${t.slug}: ${sql} → ${await attempt(t, sql)}`).toBe(`${t.slug}: ${sql} → 42501`);
    const { rows } = await h.admin.query<{ n: number }>('select count(*)::int as n from shared.plans');
    expect(rows[0]!.n).toBe(2);
    // GRANT by a non-owner grants nothing (PostgreSQL only warns): the tenant still may not write.
    expect(await attempt(schemaTenant, 'grant insert on plans to public')).toBe('ok');
    expect(await attempt(schemaTenant, "insert into plans values ('free', 1)")).toBe('42501');
    const { rows: privileges } = await h.admin.query<{ insert: boolean }>(
      "select has_table_privilege($1, 'shared.plans', 'INSERT') as insert",
      [schemaTenant.role],
    );
    expect(privileges[0]!.insert).toBe(false);
  });

  it('are applied to every server and tenant database by migrateShared, and a shared migration may grant writes', async () => {
    writeFileSync(
      join(SHARED, '0002_feedback.sql'),
      `create table feedback (id serial primary key, body text not null);
grant insert on feedback to public;
grant usage on sequence feedback_id_seq to public;`,
    );
    try {
      const before = await tenancy.sharedMigrationStatus();
      expect(before.latest).toBe('0001_plans');
      expect(before.pending).toBe(0);
      const progress: number[] = [];
      const run = await tenancy.migrateShared({ onProgress: (p) => progress.push(p.done) });
      expect(run.ok).toBe(true);
      expect(run.latest).toBe('0002_feedback');
      // The server's own database (schema tenants) and the two tenant databases.
      expect(run.results.map((r) => [r.target.tenant?.slug ?? null, r.status, r.applied])).toEqual([
        [null, 'migrated', ['0002_feedback']],
        ['shared-db', 'migrated', ['0002_feedback']],
        ['shared-strict', 'migrated', ['0002_feedback']],
      ]);
      expect(progress).toEqual([1, 2, 3]);
      const again = await tenancy.migrateShared();
      expect(again.counts).toEqual({ migrated: 0, 'up-to-date': 3, failed: 0 });
      const status = await tenancy.sharedMigrationStatus();
      expect(status.pending).toBe(0);
      expect(status.targets.map((s) => s.version)).toEqual(['0002_feedback', '0002_feedback', '0002_feedback']);
      for (const t of [schemaTenant, dbTenant, strictTenant]) {
        expect(await attempt(t, `insert into feedback (body) values ('from ${t.slug}')`)).toBe('ok');
        expect(await attempt(t, 'delete from feedback')).toBe('42501');
      }
      // A tenant created now is cloned from a template holding both sets.
      const late = await tenancy.tenants.create({ slug: 'shared-late', name: 'Late', isolation: 'database' });
      const { rows } = await tenancy.withTenant(late.id, (db) =>
        db.query<{ name: string }>('select name from _tenantry_shared_migrations order by name'),
      );
      expect(rows.map((r) => r.name)).toEqual(['0001_plans', '0002_feedback']);
    } finally {
      await tenancy.tenants.delete('shared-late').catch(() => undefined);
    }
  });

  it('refuse a schema of that name that the registry did not make, touching nothing in it', async () => {
    // A database tenant made before shared tables existed owns its database and may make a
    // `shared` schema of its own there.
    const plain = await h.tenancy({ encryptionKey: KEY });
    const early = await plain.tenants.create({ slug: 'shared-early', name: 'Early', isolation: 'database' });
    await plain.withTenant(early.id, async (db) => {
      await db.query('create schema shared');
      await db.query('create table shared.plans (id text)');
      await db.query("insert into shared.plans values ('forged')");
    });
    const run = await tenancy.migrateShared();
    expect(run.ok).toBe(false);
    const failed = run.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => [r.target.tenant?.slug, r.error?.code])).toEqual([['shared-early', 'MIGRATION_FAILED']]);
    expect(failed[0]!.error!.message).toMatch(/not this registry's shared schema/);
    const { rows } = await plain.withTenant(early.id, (db) => db.query<{ id: string }>('select id from shared.plans'));
    expect(rows).toEqual([{ id: 'forged' }]);
    await plain.tenants.delete(early.id);
  });

  it('take only an identifier as the schema name, never public, a tenant name or hostile text', async () => {
    const bad = [
      'public',
      'Shared',
      'pg_shared',
      'information_schema',
      'tenantry',
      `t_${'a'.repeat(32)}`,
      '',
      'x'.repeat(64),
      ...HOSTILE_STRINGS.filter(notAnIdentifier),
    ];
    for (const name of bad)
      await expect(h.tenancy({ sharedMigrations: SHARED, sharedSchema: name }), JSON.stringify(name)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    const hostileDir = mkdtempSync(join(tmpdir(), 'tenantry-shared-hostile-'));
    writeFileSync(join(hostileDir, `0001_x"; drop schema shared cascade; --.sql`), 'select 1');
    await expect(h.tenancy({ sharedMigrations: hostileDir })).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
    await expect(plainTenancy().then((t) => t.migrateShared())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('live in a schema of the configured name', async () => {
    const other = await h.tenancy({ sharedMigrations: SHARED, sharedSchema: 'common' });
    const t = await other.tenants.create({ slug: 'shared-common', name: 'Common' });
    const { rows } = await other.withTenant(t.id, (db) =>
      db.query<{ p: string; n: number }>("select current_setting('search_path') as p, (select count(*)::int from plans) as n"),
    );
    expect(rows[0]).toEqual({ p: `"${t.physicalName}", "common", pg_temp`, n: 2 });
    await other.tenants.delete(t.id);
  });
});

/** Hostile strings that are not plain identifiers (`_acme` or `ab` are fine schema names). */
function notAnIdentifier(s: string): boolean {
  return !/^[a-z_][a-z0-9_]{0,62}$/.test(s) || s.startsWith('pg_') || s === 'information_schema';
}

function plainTenancy(): Promise<Tenancy> {
  return h.tenancy({});
}
