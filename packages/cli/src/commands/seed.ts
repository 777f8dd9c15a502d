import { defineCommand } from '../command.js';
import { requireSeeds } from '../config.js';
import { CONCURRENCY_FLAG, TENANT_FLAG, intFlag } from '../flags.js';
import { renderRunResults, runJson } from '../reports.js';

/** `tenantry seed [--tenant …] [--concurrency n]` */
export const seed = defineCommand({
  name: 'seed',
  summary: 'Run the seeds folder in every ACTIVE tenant (or --tenant …), one transaction per tenant',
  args: [],
  flags: { tenant: TENANT_FLAG, concurrency: CONCURRENCY_FLAG },
  details: 'Seeds should be safe to run twice (on conflict do nothing). Exit code 1 when any tenant failed.',
  async run({ flags, out, config, tenancy }) {
    const concurrency = intFlag(flags.concurrency, 'concurrency', 1);
    requireSeeds(config);
    const results = await (
      await tenancy()
    ).seed({
      ...(flags.tenant === undefined ? {} : { tenants: flags.tenant }),
      ...(concurrency === undefined ? {} : { concurrency }),
    });
    out.result(runJson(results), () => renderRunResults(out, results, 'seeds', (names) => names.join(', ')));
    return results.every((r) => r.status === 'ok') ? 0 : 1;
  },
});
