/**
 * The server (in Tenantry's fleet) tenant databases are made on: the master's PostgreSQL, with its
 * read replica. Registered by `createApp()`.
 */
export const TENANT_SERVER = 'tenant-db';
