/**
 * The registry's side of restores in place and moves: the `tenantry.mobility_jobs` table
 * (registry migration 8) and the one transaction that switches a tenant to its new copy.
 *
 * A job is `running` from the moment the tenant is suspended until the switch, which marks it
 * `done` in the same transaction that points the tenant at its new copy: there is no moment at
 * which the registry could name both copies, or neither. A job left `running` by a stopped
 * process is undone by `reconcile()` (see settle.ts).
 */
import type { Queryable } from '../registry/tenant-registry.js';
import type { IsolationKind, TenantStatus } from '../types.js';

/** What a job is. */
export type MobilityJobKind = 'restore' | 'move';

/** A row of `tenantry.mobility_jobs`. */
export interface MobilityJob {
  readonly id: string;
  readonly kind: MobilityJobKind;
  readonly tenantId: string;
  readonly stagingId: string | null;
  readonly previousStatus: TenantStatus;
  readonly state: 'running' | 'done' | 'undone';
  readonly retainUntil: Date | null;
}

interface JobRow {
  id: string;
  kind: MobilityJobKind;
  tenant_id: string;
  staging_id: string | null;
  previous_status: TenantStatus;
  state: 'running' | 'done' | 'undone';
  retain_until: Date | null;
}

const toJob = (r: JobRow): MobilityJob => ({
  id: r.id,
  kind: r.kind,
  tenantId: r.tenant_id,
  stagingId: r.staging_id,
  previousStatus: r.previous_status,
  state: r.state,
  retainUntil: r.retain_until,
});

/** The target version of a staging copy: no ledger ever reaches it, so `reconcile()` undoes an interrupted one. */
export function stagingTarget(jobId: string): string {
  return `tenantry:staging:${jobId}`;
}

export async function insertJob(
  db: Queryable,
  job: { id: string; kind: MobilityJobKind; tenantId: string; previousStatus: TenantStatus },
): Promise<void> {
  await db.query(`insert into tenantry.mobility_jobs (id, kind, tenant_id, previous_status, state) values ($1, $2, $3, $4, 'running')`, [
    job.id,
    job.kind,
    job.tenantId,
    job.previousStatus,
  ]);
}

export async function setJobStaging(db: Queryable, jobId: string, stagingId: string): Promise<void> {
  await db.query('update tenantry.mobility_jobs set staging_id = $2 where id = $1', [jobId, stagingId]);
}

export async function finishJob(
  db: Queryable,
  jobId: string,
  state: 'done' | 'undone',
  detail: Record<string, unknown> = {},
): Promise<void> {
  await db.query(
    `update tenantry.mobility_jobs set state = $2, finished_at = now(), detail = detail || $3::jsonb where id = $1 and state = 'running'`,
    [jobId, state, JSON.stringify(detail)],
  );
}

export async function runningJobs(db: Queryable): Promise<MobilityJob[]> {
  const { rows } = await db.query<JobRow>(
    `select id, kind, tenant_id, staging_id, previous_status, state, retain_until from tenantry.mobility_jobs where state = 'running' order by created_at`,
  );
  return rows.map(toJob);
}

export async function findJob(db: Queryable, id: string): Promise<MobilityJob | undefined> {
  const { rows } = await db.query<JobRow>(
    'select id, kind, tenant_id, staging_id, previous_status, state, retain_until from tenantry.mobility_jobs where id = $1',
    [id],
  );
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** Moves whose retained old copy may be dropped now (or at `now`). */
export async function expiredCopies(db: Queryable, now: Date): Promise<MobilityJob[]> {
  const { rows } = await db.query<JobRow>(
    `select j.id, j.kind, j.tenant_id, j.staging_id, j.previous_status, j.state, j.retain_until
       from tenantry.mobility_jobs j join tenantry.tenants s on s.id = j.staging_id
      where j.kind = 'move' and j.state = 'done' and j.retain_until <= $1 and s.status = 'SUSPENDED'
      order by j.retain_until`,
    [now],
  );
  return rows.map(toJob);
}

/** Adds an activity entry (no status change) and announces the tenant's change. */
export async function logActivity(
  db: Queryable,
  tenantId: string,
  action: string,
  actor: string | undefined,
  detail: Record<string, unknown>,
  error?: string,
): Promise<void> {
  await db.query(
    `insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail, error)
     select id, $2, status, status, $3, $4::jsonb, $5 from tenantry.tenants where id = $1`,
    [tenantId, action, actor ?? null, JSON.stringify(detail), error ?? null],
  );
}

/**
 * The switch, on `db` inside a transaction: `tenant` takes the staging copy's placement (server,
 * tier, schema or database, role) and goes back to `status`; the staging row takes the old
 * placement and becomes `stagingStatus` (DELETING: dropped next; SUSPENDED: retained until
 * `retainUntil`). The registry mirror of the ledger follows, the job is done, both changes are
 * logged and announced. Returns false (changing nothing) when the tenant is no longer the
 * SUSPENDED tenant this job suspended or the job is no longer running.
 */
export async function switchPlacement(
  db: Queryable,
  s: {
    readonly jobId: string;
    readonly tenantId: string;
    readonly stagingId: string;
    readonly status: TenantStatus;
    readonly stagingStatus: 'DELETING' | 'SUSPENDED';
    readonly stagingSlug: string;
    readonly schemaVersion: string | null;
    readonly action: string;
    readonly actor: string | undefined;
    readonly detail: Record<string, unknown>;
    readonly retainUntil: Date | null;
    /** The tenant's status while the copy was made: SUSPENDED (offline; the default) or ACTIVE (an online move's cutover). */
    readonly fromStatus?: TenantStatus;
  },
): Promise<boolean> {
  const fromStatus = s.fromStatus ?? 'SUSPENDED';
  const { rows } = await db.query<{
    id: string;
    status: string;
    server_id: string;
    isolation: IsolationKind;
    physical_name: string;
    role: string | null;
  }>(
    `select t.id, t.status, t.server_id, t.isolation, t.physical_name, t.role
       from tenantry.tenants t where t.id = any($1::uuid[]) order by t.id for update`,
    [[s.tenantId, s.stagingId]],
  );
  const job = await findJob(db, s.jobId);
  const tenant = rows.find((r) => r.id === s.tenantId);
  const staging = rows.find((r) => r.id === s.stagingId);
  if (!tenant || !staging || job?.state !== 'running' || tenant.status !== fromStatus || staging.status !== 'PROVISIONING') return false;
  // physical_name is unique: the staging row lets go of its name first.
  await db.query(`update tenantry.tenants set physical_name = 'tenantry-switch-' || id::text where id = $1`, [s.stagingId]);
  await db.query(
    `update tenantry.tenants set server_id = $2, isolation = $3, physical_name = $4, role = $5, status = $6, schema_version = $7,
            last_migration_at = now(), error_message = null, updated_at = now(), metadata = metadata - 'tenantry.cutover'
      where id = $1`,
    [s.tenantId, staging.server_id, staging.isolation, staging.physical_name, staging.role, s.status, s.schemaVersion],
  );
  await db.query(
    `update tenantry.tenants set server_id = $2, isolation = $3, physical_name = $4, role = $5, status = $6, slug = $7, updated_at = now(),
            target_version = null, metadata = metadata || $8::jsonb
      where id = $1`,
    [
      s.stagingId,
      tenant.server_id,
      tenant.isolation,
      tenant.physical_name,
      tenant.role,
      s.stagingStatus,
      s.stagingSlug,
      JSON.stringify({ 'tenantry.copyOf': s.tenantId, ...(s.retainUntil ? { 'tenantry.retainUntil': s.retainUntil.toISOString() } : {}) }),
    ],
  );
  // The ledger mirrors follow their copies.
  // (Swapped by delete and insert: one UPDATE would collide with itself on the primary key.)
  const { rows: mirror } = await db.query<{ tenant_id: string; name: string; checksum: string; applied_at: Date; duration_ms: number }>(
    'delete from tenantry.tenant_migrations where tenant_id = any($1::uuid[]) returning tenant_id, name, checksum, applied_at, duration_ms',
    [[s.tenantId, s.stagingId]],
  );
  if (mirror.length > 0)
    await db.query(
      `insert into tenantry.tenant_migrations (tenant_id, name, checksum, applied_at, duration_ms)
       select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::int[])`,
      [
        mirror.map((m) => (m.tenant_id === s.tenantId ? s.stagingId : s.tenantId)),
        mirror.map((m) => m.name),
        mirror.map((m) => m.checksum),
        mirror.map((m) => m.applied_at),
        mirror.map((m) => m.duration_ms),
      ],
    );
  await db.query(
    `insert into tenantry.activity (tenant_id, action, from_status, to_status, actor, detail) values
       ($1, $3, $8, $4, $5, $6::jsonb), ($2, $3 || '-old-copy', 'PROVISIONING', $7, $5, $6::jsonb)`,
    [s.tenantId, s.stagingId, s.action, s.status, s.actor ?? null, JSON.stringify(s.detail), s.stagingStatus, fromStatus],
  );
  await db.query(
    `update tenantry.mobility_jobs set state = 'done', finished_at = now(), retain_until = $2, detail = detail || $3::jsonb where id = $1`,
    [s.jobId, s.retainUntil, JSON.stringify(s.detail)],
  );
  await db.query('select tenantry.notify_change($1), tenantry.notify_change($2)', [s.tenantId, s.stagingId]);
  return true;
}

/** Merges `detail` into a job's detail (an online move records its replication objects there before it makes them). */
export async function setJobDetail(db: Queryable, jobId: string, detail: Record<string, unknown>): Promise<void> {
  await db.query('update tenantry.mobility_jobs set detail = detail || $2::jsonb where id = $1', [jobId, JSON.stringify(detail)]);
}

/** Online moves whose replication objects (subscription, slot, publication) may still exist: not yet marked cleaned. */
export async function uncleanedReplications(db: Queryable): Promise<{ id: string; state: string; tenantId: string; online: unknown }[]> {
  const { rows } = await db.query<{ id: string; state: string; tenant_id: string; online: unknown }>(
    `select id, state, tenant_id, detail -> 'online' as online from tenantry.mobility_jobs
      where detail ? 'online' and not coalesce((detail ->> 'replicationCleaned')::boolean, false) order by created_at`,
  );
  return rows.map((r) => ({ id: r.id, state: r.state, tenantId: r.tenant_id, online: r.online }));
}

/** Sets or clears (`until` undefined) a tenant's cutover gate (cutover-gate.ts), and announces it. */
export async function setCutoverGate(db: Queryable, tenantId: string, gate: { job: string; until: number } | undefined): Promise<void> {
  if (gate === undefined)
    await db.query(`update tenantry.tenants set metadata = metadata - 'tenantry.cutover' where id = $1 and metadata ? 'tenantry.cutover'`, [
      tenantId,
    ]);
  else
    await db.query(`update tenantry.tenants set metadata = metadata || jsonb_build_object('tenantry.cutover', $2::jsonb) where id = $1`, [
      tenantId,
      JSON.stringify(gate),
    ]);
  await db.query('select tenantry.notify_change($1)', [tenantId]);
}

/** The tenants (not copies, not DELETED) placed on `server`, in creation order. */
export async function tenantsOn(db: Queryable, server: string): Promise<{ id: string; slug: string; status: TenantStatus }[]> {
  const { rows } = await db.query<{ id: string; slug: string; status: TenantStatus }>(
    `select id, slug, status from tenantry.tenants where server_id = $1 and kind = 'tenant' and status <> 'DELETED' order by seq`,
    [server],
  );
  return rows;
}

/** How many retained old copies of moved tenants are still on `server` (dropped by purge-moved). */
export async function copiesOn(db: Queryable, server: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from tenantry.tenants where server_id = $1 and kind = 'copy' and status not in ('DELETED')`,
    [server],
  );
  return rows[0]?.n ?? 0;
}
