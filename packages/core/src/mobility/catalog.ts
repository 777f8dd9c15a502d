/**
 * What a tenant's catalog is, in comparable lines, and whether it drifted from what its
 * migrations make. An archive holds data only: the schema is recreated from the migrations, so
 * a tenant changed by hand (a column added in psql, an index dropped) would be restored as
 * something else. It is refused instead, with the differences listed.
 *
 * The reference is built by applying the tenant's migrations to a scratch schema in a
 * transaction that is always rolled back: nothing of it remains, and it sees the same server,
 * extensions and types as the tenant.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ErrorCodes, TenantryError } from '../errors.js';
import { assertIdent, quoteIdent } from '../identifiers.js';
import type { Migration } from '../migrations/migration-source.js';
import { applyMigrations, LEDGER_TABLE } from '../migrations/tenant-ledger.js';
import type { ArchivedTable } from './archive-format.js';

/**
 * The catalog of `schema` as sorted lines, its name left out so that two schemas compare. Run
 * with `schema` first on the search_path (types and defaults print unqualified then).
 */
export async function describeCatalog(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `with n as (select oid from pg_namespace where nspname = $1)
     select 'relation ' || c.relname || ' ' || c.relkind::text as line from pg_class c, n where c.relnamespace = n.oid and c.relkind in ('r','p','v','m','S','f')
     union all
     select 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || case when a.attnotnull then ' not null' else '' end
            || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end
            || case when a.attgenerated <> '' then ' generated ' || a.attgenerated::text else '' end
            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       from pg_attribute a join pg_class c on c.oid = a.attrelid join n on c.relnamespace = n.oid
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attnum > 0 and not a.attisdropped and c.relkind in ('r','p','v','m','f')
     union all
     select 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
       from pg_constraint k join pg_class c on c.oid = k.conrelid join n on c.relnamespace = n.oid
     union all
     select 'index ' || pg_get_indexdef(i.indexrelid) from pg_index i join pg_class c on c.oid = i.indexrelid join n on c.relnamespace = n.oid
     union all
     select 'sequence ' || c.relname || ' ' || format_type(s.seqtypid, null) || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax || ' ' || s.seqstart || ' ' || s.seqcycle
       from pg_sequence s join pg_class c on c.oid = s.seqrelid join n on c.relnamespace = n.oid
     union all
     select 'type ' || t.typname || ' ' || t.typtype::text || coalesce(' (' || (select string_agg(e.enumlabel, ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) || ')', '')
       from pg_type t join n on t.typnamespace = n.oid
      where t.typtype in ('e','d','r','m') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c')
     union all
     select 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid) from pg_class c join n on c.relnamespace = n.oid where c.relkind in ('v','m')
     union all
     select 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || md5(p.prosrc) from pg_proc p join n on p.pronamespace = n.oid
     union all
     select 'trigger ' || pg_get_triggerdef(g.oid) from pg_trigger g join pg_class c on c.oid = g.tgrelid join n on c.relnamespace = n.oid where not g.tgisinternal
     order by 1`,
    [schema],
  );
  // Index and trigger definitions name their table's schema when it is not first on the path.
  return rows.map((r) =>
    r.line
      .split(`${quoteIdent(schema)}.`)
      .join('')
      .split(`${schema}.`)
      .join(''),
  );
}

/** The tables whose data an archive carries: plain tables and partitions, without the ledger, columns in COPY order. */
export async function dataTables(client: pg.ClientBase, schema: string): Promise<ArchivedTable[]> {
  const { rows } = await client.query<{ table: string; columns: { name: string; type: string }[] }>(
    `select c.relname as table,
            coalesce((select json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by a.attnum)
                        from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''), '[]') as columns
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind = 'r' and c.relname <> $2
      order by c.relname`,
    [schema, LEDGER_TABLE],
  );
  return rows.map((r) => ({ name: r.table, columns: r.columns }));
}

/** Every sequence of `schema`, by name. */
export async function sequenceNames(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'S' order by 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

/**
 * The catalog `migrations` make, described as {@link describeCatalog} does: applied in a scratch
 * schema on `client` (inside the caller's transaction, in a savepoint rolled back at once).
 * `asRole` creates the scratch schema as that role (the owner of a tenant database).
 */
export async function referenceCatalog(client: pg.ClientBase, migrations: readonly Migration[], asRole: string | null): Promise<string[]> {
  const scratch = assertIdent(`tenantry_ref_${randomBytes(6).toString('hex')}`);
  await client.query('savepoint tenantry_reference');
  try {
    if (asRole !== null) await client.query(`set local role ${quoteIdent(asRole)}`);
    await client.query(`create schema ${quoteIdent(scratch)}`);
    await client.query(`set local search_path to ${quoteIdent(scratch)}, pg_temp`);
    await applyMigrations(client, migrations);
    return await describeCatalog(client, scratch);
  } finally {
    await client.query('rollback to savepoint tenantry_reference');
  }
}

/** The differences between a tenant's catalog and the reference, in words; empty when none. */
export function catalogDrift(actual: readonly string[], reference: readonly string[]): string[] {
  const want = new Set(reference);
  const have = new Set(actual);
  return [
    ...actual.filter((l) => !want.has(l)).map((l) => `not made by its migrations: ${l}`),
    ...reference.filter((l) => !have.has(l)).map((l) => `missing: ${l}`),
  ];
}

/** `CATALOG_DRIFTED` for a tenant, listing (the first 20 of) the differences. */
export function catalogDrifted(slug: string, drift: readonly string[]): TenantryError {
  const shown = drift.slice(0, 20).join('; ');
  return new TenantryError(
    ErrorCodes.CATALOG_DRIFTED,
    `tenant '${slug}' has drifted from what its migrations make (${drift.length} difference${drift.length === 1 ? '' : 's'}: ${shown}${drift.length > 20 ? '; …' : ''}); write a migration for the change (or undo it) before backing up or moving the tenant`,
    { context: { tenant: slug } },
  );
}
