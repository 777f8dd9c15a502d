/**
 * Which ORM handles Tenantry manages: the mark an adapter puts on the handle it prepared (a
 * TypeORM DataSource made by `typeormTenancy()`…), so that a framework integration can tell it
 * from a handle that opened a pool of its own — without importing the ORM. `@tenantry/nestjs`
 * reads it when it refuses unsafe wirings at start.
 *
 * The marks are `Symbol.for()` keys, so two installed copies of `@tenantry/core` agree on them.
 */

/** Key of the mark on a handle an adapter prepared: its value is the adapter's name. */
const MANAGED = Symbol.for('tenantry:managed-orm-handle');

/**
 * Key an application sets on an ORM's options (or handle) to say that it is meant to stay
 * outside the tenancy — a database that holds no tenant data. Set it with an adapter's helper
 * (`outsideTenancy()` of `@tenantry/typeorm/nestjs`), not by hand.
 */
export const OUTSIDE_TENANCY: unique symbol = Symbol.for('tenantry:outside-tenancy');

/** Marks `handle` as prepared by the adapter `orm` (e.g. `typeorm`): its statements run through units of work. */
export function markManagedHandle(handle: object, orm: string): void {
  Object.defineProperty(handle, MANAGED, { value: orm, configurable: true, enumerable: false, writable: false });
}

/** The adapter that prepared `handle`, or `undefined` when no Tenantry adapter did. */
export function managedHandleOrm(handle: object): string | undefined {
  const orm = (handle as Record<symbol, unknown>)[MANAGED];
  return typeof orm === 'string' ? orm : undefined;
}

/** Whether `value` (ORM options or a handle) is declared to stay outside the tenancy (see {@link OUTSIDE_TENANCY}). */
export function isOutsideTenancy(value: object): boolean {
  return (value as Record<symbol, unknown>)[OUTSIDE_TENANCY] === true;
}
