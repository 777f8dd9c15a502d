import { setupTenancyHarness, type TenancyHarness } from '@tenantry/testing/harness';
import { createTenancy, type Tenancy, type TenancyOptions } from '@tenantry/core';

export { errorCode as codeOf } from '@tenantry/testing/harness';

export type Harness = TenancyHarness<Tenancy, TenancyOptions>;

/** One database per test file, cloned from the template; everything closed after the file. */
export function setupHarness(): Promise<Harness> {
  return setupTenancyHarness(createTenancy);
}
