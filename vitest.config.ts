import { defineConfig } from 'vitest/config';
import DurationSequencer from './vitest.sequencer.js';

// Every run first builds the workspace (tsc -b), then starts one embedded PostgreSQL for the
// whole run (vitest.build-first.ts runs @tenantry/testing's global setup after the build, since
// that file is itself built). Each test file clones its own database from a template, so files
// run in parallel (two workers: this project targets 2-core machines).
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    globalSetup: ['./vitest.build-first.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env['CI'] ? ['verbose'] : ['default'],
    // Longest files first, also on a clean clone with no cached durations (vitest.sequencer.ts).
    sequence: { sequencer: DurationSequencer },
  },
});
