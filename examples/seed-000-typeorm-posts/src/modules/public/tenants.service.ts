import { Injectable } from '@nestjs/common';
import type { Tenancy, Tenant } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import type { CreateTenantDto } from './dto/create-tenant.dto.js';

/** A tenant as seed 000's `/tenants` routes answer it, plus what Tenantry's registry knows. */
export interface TenantView {
  readonly id: string;
  readonly name: string;
  /** The tenant's slug: seed 000's subdomain, accepted by `x-tenant-id` as well as the id. */
  readonly subdomain: string;
  /** The tenant's schema, `t_<id without hyphens>` (the seed's was `tenant_<uuid>`). */
  readonly schema: string;
  readonly status: Tenant['status'];
  /** The last tenant migration applied. */
  readonly schemaVersion: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

function view(t: Tenant): TenantView {
  return {
    id: t.id,
    name: t.name,
    subdomain: t.slug,
    schema: t.physicalName,
    status: t.status,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

/** "Tenant A" → "tenant-a". */
function slugOf(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Seed 000's tenants service. The seed saves a row in `public.tenants`, runs `CREATE SCHEMA`
 * and the tenant migrations through a DataSource of its own; here `tenancy.tenants.create()`
 * does all three as one crash-safe step (a failure leaves no row and no schema), in Tenantry's
 * registry.
 */
@Injectable()
export class TenantsService {
  constructor(@InjectTenancy() private readonly tenancy: Tenancy) {}

  async createTenant(createTenantDto: CreateTenantDto): Promise<TenantView> {
    const slug = createTenantDto.subdomain ?? slugOf(createTenantDto.name);
    return view(await this.tenancy.tenants.create({ slug, name: createTenantDto.name, isolation: 'schema' }));
  }

  async findAll(): Promise<TenantView[]> {
    const all: TenantView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.tenancy.tenants.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page.items.map(view));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return all;
  }

  /** By id (or slug); 404 `TENANT_NOT_FOUND` through Tenantry's exception filter. */
  async findOne(id: string): Promise<TenantView> {
    return view(await this.tenancy.tenants.get(id));
  }
}
