import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest files first, on a clean clone too. Vitest orders files by the durations it cached on
 * this machine (node_modules/.vite), longest first; a fresh clone (CI) has no cache, so vitest
 * falls back to file size and a long file such as packed-tarballs.test.ts (≈ 3 minutes) can
 * start late and leave one worker running it alone at the end. Where the cache is missing,
 * the durations committed in `vitest.durations.json` (written by `npm run test:durations`
 * after a full run) decide instead; a file not listed there counts as 10 s.
 */
export default class DurationSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const key = (f: TestSpecification): string => `${f.project.name}:${relative(root, f.moduleId)}`;
    if (files.every((f) => this.ctx.cache.getFileTestResults(key(f)) !== undefined)) return await super.sort(files);
    const known = committedDurations();
    const duration = (f: TestSpecification): number => known[relative(root, f.moduleId).split('\\').join('/')] ?? 10_000;
    return [...files].sort((a, b) => duration(b) - duration(a));
  }
}

function committedDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(new URL('./vitest.durations.json', import.meta.url), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}
