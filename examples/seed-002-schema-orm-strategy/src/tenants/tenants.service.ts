import type { Readable, Writable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { ArchiveManifest, Tenancy, Tenant } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import type { CreateTenantDto } from './dto/create-tenant.dto.js';

/** A tenant as `/tenants` answers it. */
export interface TenantView {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  /** Its schema: seed 002's `tenant_1`, Tenantry's `t_<id>` unless chosen. */
  readonly schema: string;
  readonly status: Tenant['status'];
  readonly schemaVersion: string | null;
  readonly createdAt: Date;
}

export function tenantView(t: Tenant): TenantView {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    schema: t.physicalName,
    status: t.status,
    schemaVersion: t.schemaVersion,
    createdAt: t.createdAt,
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
 * Tenants: created (a schema, its role, the migrations — one crash-safe step), listed, and backed
 * up and restored one schema at a time. The seed's backups are `pg_dump -n tenant_123`, restored
 * with `psql`; here they are Tenantry's archives (`tenancy.mobility`, docs/mobility.md): one
 * consistent snapshot of the schema's data, checked against its migrations, restorable in place
 * or as a new tenant on any server — and under either ORM, since both share the migrations.
 */
@Injectable()
export class TenantsService {
  constructor(@InjectTenancy() private readonly tenancy: Tenancy) {}

  async create(input: CreateTenantDto): Promise<TenantView> {
    const tenant = await this.tenancy.tenants.create({
      slug: input.slug ?? slugOf(input.name),
      name: input.name,
      isolation: 'schema',
      ...(input.schema === undefined ? {} : { physicalName: input.schema }),
    });
    return tenantView(tenant);
  }

  async findAll(): Promise<TenantView[]> {
    const all: TenantView[] = [];
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page = await this.tenancy.tenants.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page.items.filter((t) => t.status !== 'DELETED').map(tenantView));
      cursor = page.nextCursor;
    }
    return all;
  }

  async findOne(idOrSlug: string): Promise<TenantView> {
    return tenantView(await this.tenancy.tenants.get(idOrSlug));
  }

  async get(idOrSlug: string): Promise<Tenant> {
    return await this.tenancy.tenants.get(idOrSlug);
  }

  /** Writes the tenant's archive to `out`; `CATALOG_DRIFTED` (before any byte) when its schema is not what its migrations make. */
  async backup(tenant: Tenant, out: Writable): Promise<ArchiveManifest> {
    return await this.tenancy.mobility.backup(tenant.id, out);
  }

  /** Restores an archive over the tenant, which keeps its id and slug; suspended meanwhile, its old copy serves again if the restore fails. */
  async restoreInPlace(idOrSlug: string, archive: Readable): Promise<TenantView> {
    return tenantView(await this.tenancy.mobility.restoreInPlace(idOrSlug, archive, { actor: 'seed-002' }));
  }

  /** Restores an archive into a new tenant. */
  async restore(archive: Readable, slug: string, name?: string): Promise<TenantView> {
    return tenantView(
      await this.tenancy.mobility.restore(
        archive,
        { slug, ...(name === undefined ? {} : { name }), isolation: 'schema' },
        { actor: 'seed-002' },
      ),
    );
  }
}
