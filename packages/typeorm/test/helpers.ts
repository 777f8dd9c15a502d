import { setupTenancyHarness, type TenancyHarness } from '@tenantry/testing/harness';
import { createTenancy, type Tenancy, type TenancyOptions } from '@tenantry/core';

export type Harness = TenancyHarness<Tenancy, TenancyOptions>;

/** One database per test file, cloned from the template; everything closed after the file. */
export function setupHarness(): Promise<Harness> {
  return setupTenancyHarness(createTenancy);
}

/** The error code of `err` or of what it wraps. */
export function codeOf(err: unknown): string | undefined {
  for (let e = err, i = 0; e !== null && typeof e === 'object' && i < 5; i++) {
    if (typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
    e = (e as { driverError?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}
