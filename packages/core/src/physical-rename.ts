/**
 * Caller-chosen physical names and physical renames: whether a name is free on a server, and
 * renaming a tenant's schema or database (and its role) through the lifecycle.
 *
 * A rename is three commits, each of which a stopped process may be killed after:
 * 1. the registry records the rename as pending (`physical_rename_to`), holding the new name;
 * 2. the server renames the container and the role, in one transaction;
 * 3. the registry switches the tenant to the new name and clears the pending rename.
 * `reconcile()` (or the next rename or delete of the tenant) settles a rename left pending by
 * looking at the server: the container under the new name only means step 2 committed, and the
 * rename is finished; under the old name it did not, and the rename is undone. Either way the
 * tenant ends whole under exactly one name.
 */
import { ErrorCodes, invalidArgument, TenantryError } from './errors.js';
import { quoteIdent } from './identifiers.js';
import type { TenancyInternals } from './internals.js';
import { physicalNameTaken, type Queryable } from './registry/tenant-registry.js';
import { checkPhysicalName } from './tenant-input.js';
import type { ActorOptions, Tenant, TenantStatus } from './types.js';

/** Statuses a tenant may be renamed in: it is provisioned, and no other lifecycle step is under way. */
const RENAMABLE: readonly TenantStatus[] = ['ACTIVE', 'SUSPENDED', 'MIGRATION_FAILED'];

/** Options of `tenants.renamePhysical()`. */
export interface RenamePhysicalOptions extends ActorOptions {
  /**
   * How long a database tenant's open connections (units of work in this process) get to be
   * released before every connection still on its database is terminated. Milliseconds, 0–60000;
   * default 5000. Schema tenants are renamed without waiting.
   */
  readonly drainMs?: number;
}

/**
 * Throws `TENANT_EXISTS` unless `name` is free on `server`: held by no live tenant there (as its
 * physical name, pending rename or role) and no schema, database or role of that name exists on
 * the server (`except`: a tenant whose own names do not count).
 */
export async function assertPhysicalNameFree(d: TenancyInternals, server: string, name: string, except?: Tenant): Promise<void> {
  const holder = await d.registry.physicalNameHolder(server, name);
  if (holder !== undefined && holder.id !== except?.id) throw physicalNameTaken(name, server);
  for (const strategy of d.strategies) if ((await strategy.existing(server, [name])).has(name)) throw physicalNameTaken(name, server);
  const admin = await d.router.admin(server);
  const { rowCount } = await admin.query('select 1 from pg_roles where rolname = $1', [name]);
  if (rowCount !== 0 && except?.role !== name) throw physicalNameTaken(name, server);
}

/**
 * Renames a tenant's schema or database (and its role when it is named after the container)
 * to `newName`: see `Tenants.renamePhysical`.
 */
export async function renamePhysical(
  d: TenancyInternals,
  tenant: Tenant,
  newName: string,
  options: RenamePhysicalOptions = {},
): Promise<Tenant> {
  const to = checkPhysicalName(newName, 'the new physical name');
  const drainMs = options.drainMs ?? 5000;
  if (!Number.isInteger(drainMs) || drainMs < 0 || drainMs > 60_000) throw invalidArgument('drainMs must be an integer from 0 to 60000');
  const renamed = await d.lifecycle.hold(tenant, false, async (_key, lockDb) => {
    const lock = lockDb!;
    let current = await d.registry.find({ kind: 'id', value: tenant.id }, lock);
    if (current === undefined) throw new TenantryError(ErrorCodes.TENANT_NOT_FOUND, `no tenant '${tenant.slug}'`);
    // A rename a stopped process left pending is settled first.
    if ((await d.registry.pendingPhysicalRename(current.id, lock)) !== null)
      current = (await settlePhysicalRename(d, current, lock, options.actor ?? 'rename-physical')).tenant;
    if (current.physicalName === to) return current;
    if (!RENAMABLE.includes(current.status))
      throw new TenantryError(
        ErrorCodes.INVALID_STATE_TRANSITION,
        `cannot rename the ${current.isolation} of tenant '${current.slug}': it is ${current.status}, and a physical rename needs ${RENAMABLE.join(' or ')}`,
        { context: { tenant: current.slug } },
      );
    await assertPhysicalNameFree(d, current.server, to, current);
    const from = current.physicalName;
    const renameRole = current.role !== null && current.role === from;
    const begun = await d.registry.beginPhysicalRename(current.id, {
      from,
      to,
      server: current.server,
      statuses: RENAMABLE,
      actor: options.actor,
    });
    if (!begun)
      throw new TenantryError(ErrorCodes.INVALID_STATE_TRANSITION, `tenant '${current.slug}' changed while its rename was being started`, {
        context: { tenant: current.slug },
      });
    const marked = current;
    await d.onStep?.('rename-marked', marked);
    const strategy = d.strategyFor(marked.isolation);
    try {
      await strategy.rename(marked, to, { renameRole, drainMs });
    } catch (err) {
      // Nothing was renamed (the server's transaction rolled back): the rename is dropped.
      // Written on its own (committed now): this lock's transaction rolls back with the error.
      const undone = await settlePhysicalRename(d, marked, d.registryDb, options.actor ?? 'rename-physical').catch((e: unknown) => {
        d.logger.error({ err: e, tenant: marked.id }, 'could not settle a failed physical rename; reconcile() will');
        return undefined;
      });
      if (undone?.outcome === 'finished') return undone.tenant;
      throw err;
    }
    await d.onStep?.('container-renamed', marked);
    const done = await d.registry.endPhysicalRename(marked.id, { finished: true, roleRenamed: renameRole, actor: options.actor }, lock);
    if (done === undefined)
      throw new TenantryError(ErrorCodes.INTERNAL, `tenant '${marked.slug}' lost its pending rename while it was renamed`, {
        context: { tenant: marked.slug },
      });
    return done;
  });
  d.cache.invalidate(tenant.id);
  d.logger.info({ tenant: tenant.id, from: tenant.physicalName, to: renamed.physicalName }, 'tenant physically renamed');
  await d.onStep?.('renamed', renamed);
  return renamed;
}

/**
 * Settles a tenant's pending physical rename, holding its lifecycle lock on `lock`: finished
 * when the server has its container under the new name only (the rename committed there; the
 * role is renamed now if it was not), undone otherwise (the container is still, or also, under
 * its old name). Returns the tenant as recorded afterwards.
 */
export async function settlePhysicalRename(
  d: TenancyInternals,
  tenant: Tenant,
  lock: Queryable,
  actor: string,
): Promise<{ outcome: 'finished' | 'undone' | 'none'; tenant: Tenant }> {
  const to = await d.registry.pendingPhysicalRename(tenant.id, lock);
  if (to === null) return { outcome: 'none', tenant };
  const from = tenant.physicalName;
  const found = await d.strategyFor(tenant.isolation).existing(tenant.server, [from, to]);
  const finished = found.has(to) && !found.has(from);
  let roleRenamed = false;
  if (finished && tenant.role !== null && tenant.role === from) {
    // Renamed with the container, in the same transaction; renamed now if it somehow was not.
    const admin = await d.router.admin(tenant.server);
    const { rows } = await admin.query<{ name: string }>('select rolname as name from pg_roles where rolname = any($1::text[])', [
      [from, to],
    ]);
    const names = new Set(rows.map((r) => r.name));
    if (names.has(from) && !names.has(to)) await admin.query(`alter role ${quoteIdent(from)} rename to ${quoteIdent(to)}`);
    roleRenamed = true;
  }
  const detail = { settled: true, found: [...found].sort() };
  const settled = await d.registry.endPhysicalRename(tenant.id, { finished, roleRenamed, actor, detail }, lock);
  d.cache.invalidate(tenant.id);
  if (!finished) d.logger.warn({ tenant: tenant.id, from, to, found: [...found] }, 'an interrupted physical rename was undone');
  return { outcome: finished ? 'finished' : 'undone', tenant: settled ?? tenant };
}
