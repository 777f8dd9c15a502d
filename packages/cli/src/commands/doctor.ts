import type { ReconcileReport, Tenancy, Tenant, TenantStatus } from '@tenantry/core';
import { defineCommand } from '../command.js';
import { requireMigrations } from '../config.js';
import { intFlag } from '../flags.js';
import { formatDuration, plural } from '../output.js';
import { serverState } from '../server-view.js';

type Level = 'ok' | 'warn' | 'fail';

interface Finding {
  readonly id: string;
  readonly slug: string;
  readonly status: TenantStatus;
  readonly since?: Date;
  readonly error?: string | null;
}

interface Check {
  readonly name: string;
  readonly level: Level;
  readonly message: string;
  readonly tenants?: readonly Finding[];
  readonly items?: readonly string[];
}

const STUCK: readonly { status: TenantStatus; hint: string }[] = [
  {
    status: 'PROVISIONING',
    hint: "a create was interrupted: 'tenantry doctor --fix' finishes it if every step is done, else undoes it (DELETED, slug free)",
  },
  { status: 'MIGRATING', hint: "a migration run was interrupted: 'tenantry migrate' finishes it" },
  { status: 'DELETING', hint: "a delete was interrupted: 'tenantry doctor --fix' (or deleting it again by id) finishes it" },
];

async function everyTenant(tenancy: Tenancy, status: TenantStatus): Promise<Tenant[]> {
  const all: Tenant[] = [];
  let page = await tenancy.tenants.list({ status, limit: 1000 });
  all.push(...page.items);
  while (page.nextCursor !== null) {
    page = await tenancy.tenants.list({ status, limit: 1000, cursor: page.nextCursor });
    all.push(...page.items);
  }
  return all;
}

function reconcileLines(r: ReconcileReport): string[] {
  const slugs = (xs: readonly { slug: string }[]): string => (xs.length === 0 ? '' : `: ${xs.map((x) => x.slug).join(', ')}`);
  return [
    `finished     ${r.finished.length}${slugs(r.finished)}`,
    `cleaned up   ${r.cleaned.length}${r.cleaned.length === 0 ? '' : `: ${r.cleaned.map((c) => `${c.slug} → ${c.status}`).join(', ')}`}`,
    `in progress  ${r.inProgress.length}${slugs(r.inProgress)}`,
    `migrations   ${r.migrationsSettled.length}${slugs(r.migrationsSettled)} left MIGRATING by a stopped migrator, back to ACTIVE`,
    `orphans      ${r.orphans.length}${r.orphans.length === 0 ? '' : ' (left in place; see the orphans check)'}`,
  ];
}

/** `tenantry doctor [--fix] [--stuck-after seconds]`: health checks; `--fix` reconciles first. */
export const doctor = defineCommand({
  name: 'doctor',
  summary: 'Check the fleet: version drift, pending and failed migrations, stuck tenants, server room (--fix: reconcile first)',
  args: [],
  flags: {
    'stuck-after': {
      type: 'string',
      value: 'seconds',
      description: 'a tenant PROVISIONING, MIGRATING or DELETING for longer is stuck (default 300)',
    },
    fix: {
      type: 'boolean',
      description:
        'reconcile first: finish or undo tenants left PROVISIONING, MIGRATING or DELETING by stopped processes, retry the migrations of MIGRATION_FAILED tenants, and report orphan schemas/databases',
    },
  },
  details: [
    'Without --fix it changes nothing. Each check is ok, warn (pending migrations, version drift,',
    'draining or full servers, orphans) or fail (failed or stuck tenants, no server with room,',
    'unreachable servers, no migrations configured). Exit code 1 when any check fails.',
    'Tenants a stopped migrator left MIGRATING go back to ACTIVE at the version their ledger shows. MIGRATION_FAILED tenants are',
    'migrated again by --fix: ACTIVE when that succeeds or nothing is pending for them any more.',
    'JSON: { "ok", "reconciled": report | null, "checks": [{ "name", "level", "message", "tenants"?, "items"? }] }',
  ].join('\n'),
  async run({ flags, out, config, tenancy }) {
    const stuckAfterMs = (intFlag(flags['stuck-after'], 'stuck-after', 0) ?? 300) * 1000;
    // Reconcile judges a half-made tenant against the migrations: without them it cannot tell.
    if (flags.fix === true) requireMigrations(config);
    const t = await tenancy();
    const reconciled = flags.fix === true ? await t.reconcile() : null;
    // --fix retries the tenants a migration failed on: ACTIVE again when nothing fails any more.
    const retried =
      flags.fix === true
        ? await (async () => {
            const out = await everyTenant(t, 'MIGRATION_FAILED');
            return out.length === 0 ? null : await t.migrate({ tenants: out.map((x) => x.id), canary: 0, onError: 'continue' });
          })()
        : null;
    const checks: Check[] = [{ name: 'registry', level: 'ok', message: 'the registry database is reachable and its schema is current' }];

    if (config.migrations === undefined) {
      checks.push({
        name: 'migrations',
        level: 'fail',
        message: 'no migrations configured: set TENANTRY_MIGRATIONS, --migrations <dir> or "migrations" in tenantry.config.json',
      });
    } else {
      const status = await t.migrationStatus();
      checks.push({
        name: 'migrations',
        level: 'ok',
        message: `${plural(status.migrations.length, 'migration')}, latest ${status.latest ?? '(none)'}`,
      });
      const versions = status.versions.filter((v) => v.tenants > 0);
      // Drift is tenants on different versions; every tenant on one version is none, even when
      // newer migrations exist (the 'pending' check reports those).
      checks.push(
        versions.length <= 1
          ? {
              name: 'version drift',
              level: 'ok',
              message:
                versions.length === 0
                  ? 'no tenants yet'
                  : `no drift: every tenant is at ${versions[0]!.version ?? '(no migration)'}${
                      versions[0]!.version === status.latest ? '' : ` (${status.latest ?? '(none)'} is the latest: see pending)`
                    }`,
            }
          : {
              name: 'version drift',
              level: 'warn',
              message: `tenants on ${plural(versions.length, 'version')}: ${versions.map((v) => `${v.version ?? '(none)'} ×${v.tenants}`).join(', ')}`,
            },
      );
      checks.push(
        status.pending === 0
          ? { name: 'pending', level: 'ok', message: 'no tenant has pending migrations' }
          : {
              name: 'pending',
              level: 'warn',
              message: `${plural(status.pending, 'tenant')} with pending migrations: run 'tenantry migrate' ('--dry-run' to see them)`,
            },
      );
    }

    const failed = await everyTenant(t, 'FAILED');
    checks.push(
      failed.length === 0
        ? { name: 'failed', level: 'ok', message: 'no FAILED tenant' }
        : {
            name: 'failed',
            level: 'fail',
            message: `${plural(failed.length, 'tenant')} FAILED (a create failed; nothing was kept): 'tenantry tenants delete' it and create it again`,
            tenants: failed.map((f) => ({ id: f.id, slug: f.slug, status: f.status, since: f.updatedAt, error: f.errorMessage })),
          },
    );
    const migrationFailed = await everyTenant(t, 'MIGRATION_FAILED');
    checks.push(
      migrationFailed.length === 0
        ? {
            name: 'migration failed',
            level: 'ok',
            message:
              retried === null
                ? 'no MIGRATION_FAILED tenant'
                : `no MIGRATION_FAILED tenant left (${plural(retried.results.length, 'tenant')} migrated again and back in service)`,
          }
        : {
            name: 'migration failed',
            level: 'fail',
            message: `${plural(migrationFailed.length, 'tenant')} MIGRATION_FAILED: out of service, data intact at the previous version. Fix or remove the migration, then run 'tenantry migrate' (or 'tenantry doctor --fix')`,
            tenants: migrationFailed.map((f) => ({ id: f.id, slug: f.slug, status: f.status, since: f.updatedAt, error: f.errorMessage })),
          },
    );

    const now = Date.now();
    for (const { status, hint } of STUCK) {
      const tenants = await everyTenant(t, status);
      const stuck = tenants.filter((x) => now - x.updatedAt.getTime() > stuckAfterMs);
      const name = `stuck ${status}`;
      if (stuck.length > 0) {
        checks.push({
          name,
          level: 'fail',
          message: `${plural(stuck.length, 'tenant')} ${status} for over ${formatDuration(stuckAfterMs)}: ${hint}`,
          tenants: stuck.map((x) => ({ id: x.id, slug: x.slug, status: x.status, since: x.updatedAt })),
        });
      } else {
        checks.push({
          name,
          level: 'ok',
          message:
            tenants.length === 0
              ? `no tenant ${status}`
              : `${plural(tenants.length, 'tenant')} ${status}, for less than ${formatDuration(stuckAfterMs)}`,
        });
      }
    }

    const servers = await t.servers.list();
    const open = servers.filter((s) => serverState(s) === 'open');
    const closed = servers.filter((s) => serverState(s) !== 'open').map((s) => `${s.id} (${serverState(s)})`);
    checks.push(
      open.length === 0
        ? {
            name: 'servers',
            level: 'fail',
            message: `no server takes new tenants (${closed.join(', ')}): 'tenants create' fails with NO_SERVER_CAPACITY; add a server or undrain one`,
            items: closed,
          }
        : closed.length > 0
          ? {
              name: 'servers',
              level: 'warn',
              message: `${plural(open.length, 'server')} open; not taking new tenants: ${closed.join(', ')}`,
              items: closed,
            }
          : { name: 'servers', level: 'ok', message: `${plural(servers.length, 'server')}, all taking new tenants` },
    );
    if (reconciled !== null) {
      const orphans = reconciled.orphans.map((o) => `${o.server}: ${o.kind} ${o.name}`);
      checks.push(
        orphans.length === 0
          ? { name: 'orphans', level: 'ok', message: 'no schema or database without a live tenant' }
          : {
              name: 'orphans',
              level: 'warn',
              message: `${orphans.length} schema(s) or database(s) without a live tenant, left in place: ${orphans.join(', ')}`,
              items: orphans,
            },
      );
      const unreachable = reconciled.unreachable.map((u) => `${u.server}: ${u.error}`);
      if (unreachable.length > 0)
        checks.push({
          name: 'reconcile',
          level: 'fail',
          message: `could not check or settle: ${unreachable.join('; ')}`,
          items: unreachable,
        });
    }

    const ok = checks.every((c) => c.level !== 'fail');
    out.result(
      {
        ok,
        reconciled,
        retried:
          retried === null ? null : retried.results.map((r) => ({ tenant: r.tenant, status: r.status, error: r.error?.message ?? null })),
        checks,
      },
      () => {
        if (reconciled !== null) {
          out.print(out.paint('Reconciled', 'bold'));
          for (const line of reconcileLines(reconciled)) out.print(`  ${line}`);
          out.print();
        }
        const color = (cell: string) => (cell === 'ok' ? 'green' : cell === 'warn' ? 'yellow' : cell === 'fail' ? 'red' : undefined);
        out.table(
          [{ header: 'check' }, { header: 'result', color }, { header: 'detail', max: 200 }],
          checks.map((c) => [c.name, c.level, c.message]),
        );
        for (const c of checks.filter((x) => x.tenants !== undefined && x.tenants.length > 0)) {
          out.print();
          out.print(out.paint(`${c.name}:`, c.level === 'fail' ? 'red' : 'yellow'));
          out.table(
            [{ header: 'tenant', max: 40 }, { header: 'id' }, { header: 'since' }, { header: 'error', max: 80 }],
            c.tenants!.map((f) => [f.slug, f.id, f.since?.toISOString() ?? '', f.error ?? '']),
          );
        }
        out.print();
        const warnings = checks.filter((c) => c.level === 'warn').length;
        const failures = checks.filter((c) => c.level === 'fail').length;
        out.print(
          failures > 0
            ? `${plural(failures, 'check')} failed.`
            : warnings > 0
              ? `No check failed; ${plural(warnings, 'warning')}.`
              : 'No problem found.',
        );
      },
    );
    return ok ? 0 : 1;
  },
});
