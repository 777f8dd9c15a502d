#!/usr/bin/env node
// Writes vitest.durations.json (each test file's duration in ms, rounded) from the results vitest
// cached after the last run on this machine (node_modules/.vite/vitest/*/results.json). Run it
// after a full `npm test`; vitest.sequencer.ts starts the longest files first on a clean clone.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../node_modules/.vite/vitest/', import.meta.url);
let dirs = [];
try {
  dirs = readdirSync(dir);
} catch {
  // No cache yet.
}
const entries = dirs.flatMap((d) => {
  try {
    return JSON.parse(readFileSync(new URL(`${d}/results.json`, dir), 'utf8')).results;
  } catch {
    return [];
  }
});
if (entries.length === 0) {
  console.error('no vitest results cached: run `npm test` first');
  process.exit(1);
}
const durations = Object.fromEntries(
  entries.map(([file, result]) => [file.replace(/^[^:]*:/, ''), Math.round(result.duration ?? 0)]).sort((a, b) => b[1] - a[1]),
);
writeFileSync(new URL('../vitest.durations.json', import.meta.url), `${JSON.stringify(durations, null, 2)}\n`);
console.log(`vitest.durations.json: ${Object.keys(durations).length} files`);
