import { currentTenancyOwner } from './adapter.js';
import { invalidArgument } from './errors.js';

/**
 * Which adapter belongs to the current tenancy: what lets an adapter package offer a
 * context-free accessor (`tenantManager()`, `tenantDb()`, `tenantKnex()`, `tenantPrisma()`)
 * that an application may call anywhere, even from a NestJS singleton.
 *
 * Each adapter package keeps one registry. `register()` records the adapter made for a tenancy
 * (`typeormTenancy(tenancy, …)`…); `forContext()` finds it again through the tenancy that
 * entered the current tenant context (`tenancy.run()`, `withTenant()`, the NestJS middleware).
 * A process usually has one tenancy and one adapter: that adapter is then found even outside
 * a tenant context (its handle resolves the tenant at each statement), and only with several
 * is the context needed to choose. Tenancies are held weakly, the lone adapter by a `WeakRef`,
 * so a registry keeps nothing alive.
 */

/** How an adapter package names itself in the registry's errors. */
export interface AdapterRegistryOptions {
  /** The ORM's name, e.g. `Knex`: "no Knex adapter". */
  readonly orm: string;
  /** The call that makes the adapter, e.g. `knexTenancy(tenancy)`: "call knexTenancy(tenancy) at start". */
  readonly setup: string;
  /**
   * What to use when the context cannot choose among several adapters, e.g. `adapter.knex`
   * (the adapter's own handle, which needs no lookup).
   */
  readonly instead: string;
}

/** The adapters of an ORM, by tenancy. Made by {@link adapterRegistry}. */
export interface AdapterRegistry<A extends object> {
  /** Records `adapter` as `tenancy`'s. Call it once, when the adapter is made. */
  register(tenancy: object, adapter: A): void;
  /**
   * The adapter of the tenancy of the current context; outside a context (or in one of a
   * tenancy without an adapter) the only adapter made, if there is only one.
   *
   * @throws TenantryError `INVALID_ARGUMENT` when no adapter was made, or several were and
   * the context picks none of them.
   */
  forContext(): A;
}

class WeakAdapterRegistry<A extends object> implements AdapterRegistry<A> {
  readonly #options: AdapterRegistryOptions;
  readonly #byTenancy = new WeakMap<object, A>();
  /** How many adapters were made, and the last one: without a tenant context, the only one is used. */
  #made = 0;
  #last: WeakRef<A> | undefined;

  constructor(options: AdapterRegistryOptions) {
    this.#options = options;
  }

  register(tenancy: object, adapter: A): void {
    this.#byTenancy.set(tenancy, adapter);
    this.#made++;
    this.#last = new WeakRef(adapter);
  }

  forContext(): A {
    const owner = currentTenancyOwner();
    const found = (owner === undefined ? undefined : this.#byTenancy.get(owner)) ?? (this.#made === 1 ? this.#last?.deref() : undefined);
    if (found !== undefined) return found;
    const { orm, setup, instead } = this.#options;
    throw invalidArgument(
      this.#made === 0
        ? `no ${orm} adapter: call ${setup} at start`
        : `several tenancies have ${orm} adapters and none of them is the tenancy of the current context: use ${instead}`,
    );
  }
}

/**
 * A registry of one ORM's adapters by tenancy, for the adapter package's context-free accessor.
 * Make one per adapter package, at module level.
 *
 * @example
 * ```ts
 * const adapters = adapterRegistry<KnexAdapter>({ orm: 'Knex', setup: 'knexTenancy(tenancy)', instead: 'adapter.knex' });
 * export function knexTenancy(tenancy: UnitOfWorkProvider): KnexAdapter {
 *   const adapter = new KnexAdapter(tenantPool(tenancy));
 *   adapters.register(tenancy, adapter);
 *   return adapter;
 * }
 * export const tenantKnex = (): Knex => adapters.forContext().knex;
 * ```
 */
export function adapterRegistry<A extends object>(options: AdapterRegistryOptions): AdapterRegistry<A> {
  return new WeakAdapterRegistry<A>(Object.freeze({ ...options }));
}
