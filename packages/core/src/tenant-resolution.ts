/**
 * Tenant resolution: from an id, a slug, a tenant object, a custom domain or the current
 * context to the routable registry row. Reads go through the in-process cache, trusted only
 * while the registry listener is connected (otherwise another process's change could be
 * missed); a miss reads the registry. Then the status gate: only ACTIVE tenants are routable.
 */
import { asServerError, ErrorCodes, tenantMigrationFailed, tenantNotFound, tenantRequired, TenantryError } from './errors.js';
import { assertDomain, parseTenantRef } from './identifiers.js';
import type { TenancyInternals } from './internals.js';
import { cutoverDeadline, waitForCutover } from './mobility/cutover-gate.js';
import { currentContext } from './tenant-context.js';
import type { Tenant } from './types.js';

/** Most tenants one background re-read asks the registry for. */
const REFRESH_BATCH = 500;
/** How long due re-reads are gathered before they are sent together. */
const REFRESH_DELAY_MS = 20;

/** Resolves references to routable tenants, through the registry cache. */
export class TenantResolver {
  readonly #d: TenancyInternals;

  /** Tenants whose cache entries are due for a background re-read, read together. */
  readonly #refreshQueue = new Set<string>();

  constructor(d: TenancyInternals) {
    this.#d = d;
    d.cache.setRefresher((id) => this.#queueRefresh(id));
  }

  /**
   * Refresh ahead (`cache.refreshAfterMs`): a cached tenant in use whose entry is aging is
   * re-read in the background. The ids that fall due within {@link REFRESH_DELAY_MS} are read in one
   * registry query (at most {@link REFRESH_BATCH} ids each), so that a burst of entries aging
   * together — every tenant cached at start, or after a pause in traffic — costs a few statements,
   * not one per tenant.
   */
  #queueRefresh(id: string): void {
    if (this.#refreshQueue.size === 0) setTimeout(() => void this.#refreshQueued(), REFRESH_DELAY_MS).unref();
    this.#refreshQueue.add(id);
  }

  /**
   * Reads the queued tenants: each row found is stored (unless something was invalidated since
   * the read started), each tenant not found is dropped. A failure is logged and changes
   * nothing: the entries expire on their TTL, and the request that finds one expired reads the
   * registry itself (and reports the error).
   */
  async #refreshQueued(): Promise<void> {
    const ids = [...this.#refreshQueue];
    this.#refreshQueue.clear();
    for (let i = 0; i < ids.length; i += REFRESH_BATCH) {
      const batch = ids.slice(i, i + REFRESH_BATCH);
      const epoch = this.#d.cache.epoch;
      try {
        const found = await this.#d.registry.findTenants(batch, this.#d.registryDb);
        for (const tenant of found) this.#d.cache.set(tenant, epoch);
        if (found.length < batch.length) {
          const seen = new Set(found.map((t) => t.id));
          for (const gone of batch) if (!seen.has(gone)) this.#d.cache.forget(gone, epoch);
        }
      } catch (err) {
        // Closing the tenancy ends it quietly.
        if (err instanceof TenantryError && err.code === ErrorCodes.TENANCY_CLOSED) return;
        this.#d.logger.warn(
          { tenants: batch.length, err },
          'background re-read of cached tenants failed; each is re-read when its entry expires',
        );
      }
    }
  }

  /** Whether cached entries can be trusted: no listener, or a connected one. */
  get #trusted(): boolean {
    return this.#d.listener === undefined || this.#d.listener.connected;
  }

  /**
   * Resolves an id, slug or tenant to the current, routable registry row (cached).
   * Throws `INVALID_TENANT_ID`, `TENANT_NOT_FOUND`, `TENANT_SUSPENDED`, `TENANT_MIGRATION_FAILED`
   * or `TENANT_NOT_READY`.
   */
  async resolve(tenant: string | Tenant): Promise<Tenant> {
    const input = typeof tenant === 'string' ? tenant : tenant?.id;
    const ref = parseTenantRef(input);
    const trusted = this.#trusted;
    let found = trusted ? this.#d.cache.get(ref) : undefined;
    if (found === undefined) {
      const epoch = this.#d.cache.epoch;
      try {
        found = await this.#d.registry.findTenant(ref, this.#d.registryDb);
      } catch (err) {
        throw asServerError(this.#d.registryServer, err);
      }
      if (found !== undefined && trusted) this.#d.cache.set(found, epoch);
    }
    // An online move's cutover: new work waits (bounded) and runs on the placement that follows.
    if (found !== undefined && cutoverDeadline(found) !== undefined) found = await waitForCutover(this.#d, found);
    return gate(found, String(input));
  }

  /**
   * Resolves a custom domain (a request's host name) to its routable tenant (cached).
   * Throws `INVALID_DOMAIN`, `TENANT_NOT_FOUND` (no tenant has that domain), or the status
   * errors of {@link TenantResolver.resolve}.
   */
  async resolveDomain(hostname: string): Promise<Tenant> {
    const host = assertDomain(hostname);
    const trusted = this.#trusted;
    let id = trusted ? this.#d.cache.getDomain(host) : undefined;
    if (id === undefined) {
      const epoch = this.#d.cache.epoch;
      try {
        id = (await this.#d.registry.tenantIdForDomain(host, this.#d.registryDb)) ?? null;
      } catch (err) {
        throw asServerError(this.#d.registryServer, err);
      }
      if (trusted) this.#d.cache.setDomain(host, id, epoch);
    }
    if (id === null) {
      throw new TenantryError(
        ErrorCodes.TENANT_NOT_FOUND,
        `no tenant has the domain '${host}'; register it with tenancy.tenants.addDomain()`,
        { context: { tenant: host } },
      );
    }
    return await this.resolve(id);
  }

  /** The tenant from the cache when it is there and ACTIVE (the hot path: no promise); else undefined. */
  cachedActive(tenant: string | Tenant): Tenant | undefined {
    if (!this.#trusted) return undefined;
    const input = typeof tenant === 'string' ? tenant : tenant?.id;
    if (typeof input !== 'string') return undefined;
    const found = this.#d.cache.get(parseTenantRef(input));
    return found?.status === 'ACTIVE' && cutoverDeadline(found) === undefined ? found : undefined;
  }

  /** The routable tenant of `tenant`: from the cache when it is ACTIVE there, else resolved. */
  routable(tenant: string | Tenant): Tenant | Promise<Tenant> {
    return this.cachedActive(tenant) ?? this.resolve(tenant);
  }

  /**
   * The tenant of the current context, re-checked (the context may be older than a
   * suspension). Throws `TENANT_REQUIRED` outside a context.
   */
  fromContext(): Tenant | Promise<Tenant> {
    const ctx = currentContext();
    if (ctx === undefined) throw tenantRequired();
    return this.routable(ctx.tenant.id);
  }
}

/** Only ACTIVE tenants are routable; every other status has its own error and remedy. */
function gate(tenant: Tenant | undefined, asked: string): Tenant {
  if (tenant === undefined || tenant.status === 'DELETED' || tenant.status === 'DELETING') throw tenantNotFound(asked);
  switch (tenant.status) {
    case 'ACTIVE':
      return tenant;
    case 'SUSPENDED':
      throw new TenantryError(
        ErrorCodes.TENANT_SUSPENDED,
        `tenant '${tenant.slug}' is SUSPENDED; resume it with tenancy.tenants.resume('${tenant.slug}')`,
        { context: { tenant: tenant.slug } },
      );
    case 'MIGRATION_FAILED':
      // Not a provisioning failure: the data is there, at its previous version.
      throw tenantMigrationFailed(tenant);
    case 'FAILED':
      throw new TenantryError(
        ErrorCodes.TENANT_NOT_READY,
        `tenant '${tenant.slug}' failed to provision (${tenant.errorMessage ?? 'no detail'}); delete it and create it again`,
        { context: { tenant: tenant.slug } },
      );
    default:
      throw new TenantryError(ErrorCodes.TENANT_NOT_READY, `tenant '${tenant.slug}' is ${tenant.status}; retry in a few seconds`, {
        context: { tenant: tenant.slug, retryAfterSeconds: 5 },
      });
  }
}
