import { defineConfig } from 'vitest/config';

// One embedded PostgreSQL for the whole run; each test file clones its own database from a
// template, so files run in parallel (two workers: this project targets 2-core machines).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    globalSetup: ['./packages/testing/dist/global-setup.js'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env['CI'] ? ['verbose'] : ['default'],
  },
});
