import { defineCommand } from '../command.js';
import { CONCURRENCY_FLAG, TENANT_FLAG, intFlag } from '../flags.js';
import { plural, truncate } from '../output.js';
import { renderRunResults, runJson } from '../reports.js';

type SqlResult = { rowCount: number | null; rows: Record<string, unknown>[] };

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One row inline (`count=3`), else the row count; every row is in --json. */
function describe(r: SqlResult): string {
  if (r.rows.length === 1)
    return Object.entries(r.rows[0]!)
      .map(([k, v]) => `${k}=${truncate(cell(v), 40)}`)
      .join(' ');
  if (r.rows.length > 1) return `${plural(r.rows.length, 'row')} (see --json)`;
  return r.rowCount === null ? '' : plural(r.rowCount, 'row');
}

/** `tenantry run "<sql>" [--value v …] [--tenant …] [--concurrency n]` */
export const run = defineCommand({
  name: 'run',
  summary: 'Run one SQL statement in every ACTIVE tenant (or --tenant …); a result per tenant',
  args: [{ name: 'sql', required: true, description: 'one statement; $1, $2… take --value in order' }],
  flags: {
    value: { type: 'string', multiple: true, value: 'v', description: 'bind parameter $1, $2… (repeatable, in order; sent as text)' },
    tenant: TENANT_FLAG,
    concurrency: CONCURRENCY_FLAG,
  },
  details: [
    'Each statement autocommits in its tenant. Exit code 1 when it failed in any tenant.',
    `Example: tenantry run "select count(*) from posts where published = $1" --value true`,
    'JSON: { "ok", "counts", "results": [{ "tenant", "status", "value": { "rowCount", "rows" }, "durationMs", "error" }] }',
  ].join('\n'),
  async run({ args, flags, out, tenancy }) {
    const concurrency = intFlag(flags.concurrency, 'concurrency', 1);
    const results = await (
      await tenancy()
    ).runSql(args['sql']!, flags.value ?? [], {
      ...(flags.tenant === undefined ? {} : { tenants: flags.tenant }),
      ...(concurrency === undefined ? {} : { concurrency }),
    });
    out.result(runJson(results), () => renderRunResults(out, results, 'result', describe));
    return results.every((r) => r.status === 'ok') ? 0 : 1;
  },
});
