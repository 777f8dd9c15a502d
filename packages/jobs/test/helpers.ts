import { setupTenancyHarness, type TenancyHarness } from '@tenantry/testing/harness';
import { createTenancy, currentTenant, migrationList, type Tenancy, type TenancyOptions, type Tenant } from '@tenantry/core';
import type pg from 'pg';

export { errorCode as codeOf } from '@tenantry/testing/harness';

export type Harness = TenancyHarness<Tenancy, TenancyOptions>;

/** Each tenant has its own id in `tenant_self` and the marks of the jobs that ran in it. */
export const MARK_MIGRATIONS = migrationList([
  {
    name: '0001_marks',
    up: `create table tenant_self (id uuid primary key);
         create table job_marks (key text primary key, tenant_id uuid not null, runs int not null default 1, attempt int not null);`,
  },
]);

/** One database per test file, cloned from the template; everything closed after the file. */
export async function setupHarness(): Promise<Harness> {
  const h = await setupTenancyHarness(createTenancy, { migrations: MARK_MIGRATIONS, pool: { max: 8 } });
  // What handlers saw that they should not have: written outside any tenant, read by the test.
  await h.admin.query(`create table public.violations (key text, detail text)`);
  return h;
}

/** Creates `count` tenants (`database` of them in their own database), each knowing its own id. */
export async function createTenants(tenancy: Tenancy, prefix: string, count: number, database = 0): Promise<Tenant[]> {
  const out: Tenant[] = [];
  for (let i = 0; i < count; i++) {
    const t = await tenancy.tenants.create({
      slug: `${prefix}-${i}`,
      name: `${prefix} ${i}`,
      isolation: i < database ? 'database' : 'schema',
    });
    await tenancy.withTenant(t.id, (db) => db.query('insert into tenant_self (id) values ($1)', [t.id]));
    out.push(t);
  }
  return out;
}

/** The data of a test job: its key, the tenant it must run in, whether its first attempt throws. */
export interface MarkJob {
  readonly key: string;
  readonly expect: string;
  readonly failFirst?: boolean;
  readonly sleepMs?: number;
}

/**
 * The handler every test job runs: checks that it is in its tenant (context, `tenant_self`, no
 * other tenant's marks visible), then writes its mark in one transaction — which the first
 * attempt of a `failFirst` job rolls back by throwing. Violations go to `public.violations`.
 */
export async function runMark(tenancy: Tenancy, admin: pg.Pool | pg.Client, data: MarkJob, attempt: number): Promise<{ key: string }> {
  const violation = (detail: string) => admin.query('insert into public.violations (key, detail) values ($1, $2)', [data.key, detail]);
  const ctx = currentTenant();
  if (ctx?.id !== data.expect) await violation(`context tenant ${ctx?.id ?? 'none'} instead of ${data.expect}`);
  if (data.sleepMs) await new Promise((r) => setTimeout(r, data.sleepMs));
  await tenancy.withTenant(async (db) => {
    const self = await db.query<{ id: string }>('select id from tenant_self');
    if (self.rows.length !== 1 || self.rows[0]!.id !== data.expect) await violation(`tenant_self is ${JSON.stringify(self.rows)}`);
    const others = await db.query<{ n: number }>('select count(*)::int as n from job_marks where tenant_id <> $1', [data.expect]);
    if (others.rows[0]!.n !== 0) await violation(`sees ${others.rows[0]!.n} marks of other tenants`);
    await db.transaction(async (tx) => {
      await tx.query(
        `insert into job_marks (key, tenant_id, attempt) values ($1, $2, $3)
         on conflict (key) do update set runs = job_marks.runs + 1, attempt = excluded.attempt`,
        [data.key, ctx?.id ?? null, attempt],
      );
      if (data.failFirst && attempt === 0) throw new Error(`first attempt of ${data.key} fails on purpose`);
    });
  });
  return { key: data.key };
}

/** Every mark of every tenant, by key: the tenant whose schema or database holds it, and its runs. */
export async function allMarks(
  tenancy: Tenancy,
  tenants: readonly Tenant[],
): Promise<Map<string, { holder: string; runs: number; tenantId: string }>> {
  const marks = new Map<string, { holder: string; runs: number; tenantId: string }>();
  for (const t of tenants) {
    const rows = await tenancy.withTenant(
      t.id,
      async (db) => (await db.query<{ key: string; runs: number; tenant_id: string }>('select key, runs, tenant_id from job_marks')).rows,
    );
    for (const r of rows) {
      if (marks.has(r.key)) throw new Error(`job ${r.key} ran in two tenants`);
      marks.set(r.key, { holder: t.id, runs: r.runs, tenantId: r.tenant_id });
    }
  }
  return marks;
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A list of pseudo-random numbers in [0, 1), the same on every run. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
