import { defineCommand } from '../command.js';
import { ACTOR_FLAG } from '../flags.js';

/** `tenantry tenants purge-moved` */
export const tenantsPurgeMoved = defineCommand({
  name: 'tenants purge-moved',
  summary: 'Drop the old copies of moved tenants whose retention period has ended',
  args: [],
  flags: { actor: ACTOR_FLAG },
  details: 'JSON: { "purged": [{ "tenant", "oldCopy" }] }',
  async run({ out, actor, tenancy }) {
    const purged = await (await tenancy()).mobility.purgeMoved({ actor });
    out.result({ purged }, () => out.print(`Dropped ${purged.length} old ${purged.length === 1 ? 'copy' : 'copies'} of moved tenants.`));
    return 0;
  },
});
