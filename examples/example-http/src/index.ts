/**
 * What the examples share, so that each shows only its ORM and Tenantry: a small JSON router over
 * `node:http`, the app wrapper (`listen`, `close`), `slugify`, and seed 000's posts API.
 * `main.ts` helpers are in `@tenantry/example-http/start`; the e2e suites in `test-kit/`.
 */
export { HttpError, jsonServer } from './json-server.js';
export type { Reply, Route, RouteContext } from './json-server.js';
export { exampleApp } from './example-app.js';
export type { ExampleApp, ExampleAppOptions, ExampleAppParts } from './example-app.js';
export { slugify } from './slugify.js';
export { postsApi, postsApiUsage } from './posts-api.js';
export type { PostInput, PostsStore } from './posts-api.js';
