export { startEmbeddedServer, freePort, TEST_SERVER_FLAGS } from './embedded-server.js';
export type { EmbeddedServer, EmbeddedServerOptions } from './embedded-server.js';
export { createTestDatabase, ensureTemplate, TEMPLATE_DATABASE } from './test-database.js';
export type { TestDatabase } from './test-database.js';
