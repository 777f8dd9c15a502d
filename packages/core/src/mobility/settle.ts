/**
 * What `reconcile()` does about restores in place and moves that a stopped process left
 * `running`: the switch never committed (it marks its job done), so the tenant's old copy is
 * still the one the registry names and is whole. The new copy, if any, is dropped, the tenant
 * goes back to the status it had (ACTIVE, usually), and the job is `undone`. A job whose tenant's
 * lifecycle lock is held belongs to a live process and is left alone.
 */
import { lifecycleLockKey } from '../lifecycle-lock.js';
import type { TenancyInternals } from '../internals.js';
import { settleProvisioning } from '../reconcile.js';
import { openLocalGate } from './cutover-gate.js';
import { finishJob, runningJobs, setCutoverGate, setJobDetail, uncleanedReplications } from './mobility-registry.js';
import { unpublish, unsubscribe, type OnlineReplication } from './online-move.js';

/** A job `reconcile()` settled, or found in progress. */
export interface SettledMobilityJob {
  readonly id: string;
  readonly kind: 'restore' | 'move';
  readonly tenant: string;
  readonly outcome: 'undone' | 'in-progress';
}

/** Undoes every mobility job left running by a stopped process. */
export async function settleMobilityJobs(d: TenancyInternals): Promise<SettledMobilityJob[]> {
  const out: SettledMobilityJob[] = [];
  for (const job of await runningJobs(d.registryDb)) {
    const tenant = await d.registry.find({ kind: 'id', value: job.tenantId });
    if (!tenant) continue;
    const held = await d.lifecycle.tryHold(tenant, async (lock) => {
      const staging = job.stagingId === null ? undefined : await d.registry.find({ kind: 'id', value: job.stagingId }, lock);
      if (staging?.status === 'PROVISIONING') {
        const { rows } = await lock.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as ok', [
          lifecycleLockKey(staging.id),
        ]);
        if (!rows[0]?.ok) return false;
        // Its target version is never reached: this drops whatever of it was made.
        await settleProvisioning(d, staging, lock, 'reconcile');
      }
      const fresh = await d.registry.find({ kind: 'id', value: tenant.id }, lock);
      if (fresh?.status === 'SUSPENDED' && job.previousStatus !== 'SUSPENDED')
        await d.registry.transition(
          tenant.id,
          {
            from: ['SUSPENDED'],
            to: job.previousStatus,
            action: `${job.kind}-undone`,
            actor: 'reconcile',
            detail: { job: job.id, reason: `the ${job.kind} was interrupted before the switch; the tenant stays on its old copy` },
          },
          lock,
        );
      await finishJob(lock, job.id, 'undone', { undoneBy: 'reconcile' });
      d.cache.invalidate(tenant.id);
      return true;
    });
    const done = !held.skipped && held.value;
    out.push({ id: job.id, kind: job.kind, tenant: tenant.slug, outcome: done ? 'undone' : 'in-progress' });
  }
  return out;
}

/**
 * Drops what online moves stopped at any step left of their replication — the subscription on
 * the new copy (giving its schema its own name back), the slot and the publication on the
 * source — and opens the tenant's cutover gate. Runs before `reconcile()` settles unfinished
 * copies (a copy's container cannot be dropped while a subscription or a slot holds it). A job
 * whose tenant's lifecycle lock is held belongs to a live process and is left alone.
 */
export async function settleReplications(d: TenancyInternals): Promise<number> {
  let cleaned = 0;
  for (const job of await uncleanedReplications(d.registryDb)) {
    const tenant = await d.registry.find({ kind: 'id', value: job.tenantId });
    if (!tenant) continue;
    try {
      const held = await d.lifecycle.tryHold(tenant, async (lock) => {
        const online = job.online as OnlineReplication;
        if (online === null || typeof online !== 'object' || typeof online.source !== 'object')
          throw new Error('the job has no replication record');
        await unsubscribe(d, online);
        await unpublish(d, online);
        if (job.state === 'running') await setCutoverGate(lock, tenant.id, undefined);
        await setJobDetail(lock, job.id, { replicationCleaned: true });
        return true;
      });
      d.cache.invalidate(tenant.id);
      openLocalGate(tenant.id);
      if (!held.skipped) cleaned++;
    } catch (err) {
      d.logger.error({ err, tenant: tenant.id, job: job.id }, 'reconcile could not clean an online move’s replication');
    }
  }
  return cleaned;
}
