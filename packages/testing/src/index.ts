export { startEmbeddedServer, freePort, TEST_SERVER_FLAGS } from './embedded-server.js';
export type { EmbeddedServer, EmbeddedServerOptions } from './embedded-server.js';
export { createTestDatabase, ensureTemplate, TEMPLATE_DATABASE } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export type { AdapterConformanceSpec, ConformanceOps, ConformanceItem } from './conformance/index.js';
export { startPgBouncer, findPgBouncer, pgbouncerMissing, pgbouncerVersion, PgBouncerNotFoundError } from './pgbouncer.js';
export type { PgBouncer, PgBouncerOptions } from './pgbouncer.js';
export { HOSTILE_STRINGS, HOSTILE_STRING_CASES, PROTOTYPE_KEY_SLUGS, describeHostile } from './hostile-strings.js';
export type { HostileString, HostileFamily } from './hostile-strings.js';
