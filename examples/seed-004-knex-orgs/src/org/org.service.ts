import { Injectable } from '@nestjs/common';
import type { Tenancy, Tenant } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';

/** An organisation as `/org` answers it. */
export interface Org {
  readonly id: string;
  readonly name: string;
  readonly slug: string;
  /** Its database: Tenantry's generated `t_<id without hyphens>` (seed 004's was `tenant_<name>`). */
  readonly database: string;
  readonly status: Tenant['status'];
  /** The last Knex migration applied in its database. */
  readonly schemaVersion: string | null;
  readonly createdAt: Date;
}

function org(t: Tenant): Org {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    database: t.physicalName,
    status: t.status,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
  };
}

/**
 * Seed 004's `OrgService`. The seed inserts into `master.tenants`, runs
 * `CREATE DATABASE tenant_<name>` and `knex.migrate.latest()` against a Knex instance of its own; here
 * `tenancy.tenants.create()` does the three as one crash-safe step — a failure leaves no row
 * and no database — with the Knex migrations of `migrations/`.
 */
@Injectable()
export class OrgService {
  constructor(@InjectTenancy() private readonly tenancy: Tenancy) {}

  async createTenant(name: string, slug?: string): Promise<Org> {
    // "AcmeCorp" → "acmecorp", as seed 004 names `tenant_acmecorp`.
    const orgSlug =
      slug ??
      name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '');
    return org(await this.tenancy.tenants.create({ slug: orgSlug, name, isolation: 'database' }));
  }

  async list(): Promise<Org[]> {
    const all: Org[] = [];
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await this.tenancy.tenants.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page.items.map(org));
      cursor = page.nextCursor;
    }
    return all;
  }
}
