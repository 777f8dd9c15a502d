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
import { finishJob, runningJobs } from './mobility-registry.js';

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
