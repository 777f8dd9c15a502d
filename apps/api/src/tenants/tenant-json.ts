import type { ActivityEntry, Tenant } from '@tenantry/core';

/** A tenant as the admin API shows it. */
export function tenantJson(t: Tenant, extra: { domains?: readonly string[] } = {}): Record<string, unknown> {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    status: t.status,
    isolation: t.isolation,
    server: t.server,
    // Its schema, or for a database tenant its database (whose tables are in `public`).
    schema: t.isolation === 'schema' ? t.physicalName : null,
    database: t.isolation === 'database' ? t.physicalName : null,
    schemaVersion: t.schemaVersion,
    lastMigrationAt: t.lastMigrationAt?.toISOString() ?? null,
    errorMessage: t.errorMessage,
    plan: t.plan,
    metadata: t.metadata,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    ...(extra.domains === undefined ? {} : { domains: extra.domains }),
  };
}

export function activityJson(a: ActivityEntry): Record<string, unknown> {
  return {
    id: a.id,
    action: a.action,
    fromStatus: a.fromStatus,
    toStatus: a.toStatus,
    actor: a.actor,
    detail: a.detail,
    error: a.error,
    createdAt: a.createdAt.toISOString(),
  };
}
