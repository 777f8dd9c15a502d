import type { ServerInfo } from '@tenantry/core';
import type { Column } from './output.js';

/** Columns of `servers list`. */
export const SERVER_COLUMNS: readonly Column[] = [
  { header: 'id', max: 63 },
  { header: 'host', max: 60 },
  { header: 'replica', max: 60 },
  { header: 'tenants', align: 'right' },
  { header: 'capacity', align: 'right' },
  { header: 'state', color: (cell) => (cell === 'draining' ? 'yellow' : cell === 'full' ? 'red' : undefined) },
  { header: 'created' },
];

/** `draining`, `full` or `open`. */
export function serverState(s: ServerInfo): string {
  if (s.draining) return 'draining';
  return s.capacity !== null && s.tenants >= s.capacity ? 'full' : 'open';
}

/** A row of `servers list`. */
export function serverRow(s: ServerInfo): string[] {
  return [
    s.id,
    s.host,
    s.replicaHost ?? '',
    String(s.tenants),
    s.capacity === null ? '∞' : String(s.capacity),
    serverState(s),
    s.createdAt.toISOString(),
  ];
}

/** A server as key/value lines. */
export function serverFields(s: ServerInfo): [string, string][] {
  return [
    ['id', s.id],
    ['host', s.host],
    ['replica', s.replicaHost ?? '(none)'],
    ['tenants', String(s.tenants)],
    ['capacity', s.capacity === null ? 'unlimited' : String(s.capacity)],
    ['state', serverState(s)],
    ['created', s.createdAt.toISOString()],
  ];
}
