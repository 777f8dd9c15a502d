import type { ActivityEntry, Tenant } from '@tenantry/core';
import type { Column } from './output.js';
import { statusColor } from './reports.js';

const date = (d: Date | null): string => (d === null ? '' : d.toISOString());

/** A tenant as key/value lines (`tenants show`, `create`, state changes). */
export function tenantFields(t: Tenant): [string, string][] {
  return [
    ['id', t.id],
    ['slug', t.slug],
    ['name', t.name],
    ['status', t.status],
    ['plan', t.plan ?? ''],
    ['version', t.schemaVersion ?? '(none)'],
    ['last migration', date(t.lastMigrationAt)],
    ['isolation', t.isolation],
    ['server', t.server],
    ['schema', t.physicalName],
    ['created', date(t.createdAt)],
    ['updated', date(t.updatedAt)],
    ...(t.errorMessage !== null ? ([['error', t.errorMessage]] as [string, string][]) : []),
    ...(Object.keys(t.metadata).length > 0 ? ([['metadata', JSON.stringify(t.metadata)]] as [string, string][]) : []),
  ];
}

/** Columns of `tenants list`. */
export const TENANT_COLUMNS: readonly Column[] = [
  { header: 'slug', max: 40 },
  { header: 'name', max: 40 },
  { header: 'status', color: statusColor },
  { header: 'plan', max: 20 },
  { header: 'version', max: 40 },
  { header: 'created' },
  { header: 'id' },
];

/** A row of `tenants list`. */
export function tenantRow(t: Tenant): string[] {
  return [t.slug, t.name, t.status, t.plan ?? '', t.schemaVersion ?? '', date(t.createdAt), t.id];
}

/** Columns of a tenant's activity log. */
export const ACTIVITY_COLUMNS: readonly Column[] = [
  { header: 'time' },
  { header: 'action' },
  { header: 'status', max: 30 },
  { header: 'actor', max: 30 },
  { header: 'detail', max: 70 },
];

/** A row of a tenant's activity log. */
export function activityRow(a: ActivityEntry): string[] {
  const status = a.fromStatus === a.toStatus ? (a.toStatus ?? '') : `${a.fromStatus ?? '∅'} → ${a.toStatus ?? '∅'}`;
  const detail = a.error ?? (Object.keys(a.detail).length > 0 ? JSON.stringify(a.detail) : '');
  return [a.createdAt.toISOString(), a.action, status, a.actor ?? '', detail];
}
