import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { MIGRATIONS, setupHarness } from './helpers.js';
import { createTenancy, type Logger } from '../src/index.js';

/**
 * The role Tenantry runs as is never a superuser by default: the test harness (every test file's
 * tenancies) runs as the application role, and a superuser registry URL is warned about once.
 */
const h = await setupHarness();

async function attributes(url: string): Promise<{ role: string; superuser: boolean; createrole: boolean; createdb: boolean }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string; superuser: boolean; createrole: boolean; createdb: boolean }>(
      'select rolname as role, rolsuper as superuser, rolcreaterole as createrole, rolcreatedb as createdb from pg_roles where rolname = session_user',
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}

function collectingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const noop = () => undefined;
  const logger: Logger = {
    debug: noop,
    info: noop,
    warn: (_obj: unknown, msg?: string) => void warnings.push(String(msg)),
    error: noop,
  } as unknown as Logger;
  return { logger, warnings };
}

describe('the runtime role', () => {
  it("the test harness's server URL and test databases are the application role's: LOGIN CREATEROLE CREATEDB, not a superuser", async () => {
    expect(await attributes(inject('tenantryServerUrl'))).toMatchObject({ superuser: false, createrole: true, createdb: true });
    expect(await attributes(h.db.url)).toMatchObject({ superuser: false });
    // The superuser stays available to the tests that ask for it explicitly.
    expect(await attributes(h.adminUrl)).toMatchObject({ superuser: true });
  });

  it("every pool of a harness tenancy runs as that role: the registry's, a schema tenant's and a database tenant's", async () => {
    const tenancy = await h.tenancy({ applicationName: 'tenantry-runtime-role' });
    const s = await tenancy.tenants.create({ slug: 'rr-schema', name: 'S' });
    const d = await tenancy.tenants.create({ slug: 'rr-database', name: 'D', isolation: 'database' });
    for (const t of [s, d]) {
      const { rows } = await tenancy.withTenant(t.id, (db) =>
        db.query<{ session: string; current: string }>('select session_user as session, current_user as current'),
      );
      expect(rows[0]!.current).toBe(t.role);
      expect(rows[0]!.session).not.toBe('postgres');
    }
    const { rows } = await h.admin.query<{ role: string; superuser: boolean }>(
      `select distinct r.rolname as role, r.rolsuper as superuser from pg_stat_activity a join pg_roles r on r.oid = a.usesysid
        where a.application_name = 'tenantry-runtime-role'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.superuser)).toEqual([]);
  });

  it('an escape from the tenant role reaches no superuser power: COPY … TO PROGRAM and pg_read_file are refused as the login role', async () => {
    const tenancy = await h.tenancy();
    const t = await tenancy.tenants.create({ slug: 'rr-escape', name: 'E' });
    const codes: string[] = [];
    for (const sql of [
      "do $$ begin perform set_config('role', 'none', true); execute 'copy (select 1) to program ''true'''; end $$",
      "select set_config('role', 'none', true), query_to_xml('select pg_read_file(''PG_VERSION'')', false, false, '')",
      "do $$ begin perform set_config('role', 'none', true); perform lo_import('/etc/hostname'); end $$",
    ]) {
      codes.push(
        await tenancy
          .withTenant(t.id, (db) => db.query(sql))
          .then(
            () => 'ok',
            (err: unknown) => String((err as { code?: unknown }).code),
          ),
      );
    }
    expect(codes).toEqual(['42501', '42501', '42501']);
  });

  it('a superuser registry URL is warned about once, naming the role and docs/security.md; the application role is not', async () => {
    const su = collectingLogger();
    const again = collectingLogger();
    for (const logger of [su.logger, again.logger]) {
      const asSuperuser = await createTenancy({ registryUrl: h.adminUrl, migrations: MIGRATIONS, logger });
      await asSuperuser.close();
    }
    const app = collectingLogger();
    await h.tenancy({ logger: app.logger });
    const superuserWarnings = (w: string[]) => w.filter((m) => m.includes('superuser'));
    expect(superuserWarnings(su.warnings)).toHaveLength(1);
    expect(superuserWarnings(su.warnings)[0]).toMatch(/'postgres' is a PostgreSQL superuser.*docs\/security\.md/);
    expect(superuserWarnings(again.warnings)).toEqual([]);
    expect(superuserWarnings(app.warnings)).toEqual([]);
  });
});
