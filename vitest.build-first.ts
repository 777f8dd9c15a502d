import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

/**
 * Vitest global setup: builds the workspace (`tsc -b`, incremental) before any test runs, so
 * no test runs stale code — the tests of the adapters, the NestJS package, the apps and the
 * examples import `../dist`, and `npx vitest run one.test.ts` right after editing a `src` file
 * must see the edit. A compile error fails the run with the compiler's output.
 *
 * It also runs `@tenantry/testing`'s global setup (embedded PostgreSQL) itself: that file is
 * under `packages/testing/dist`, which does not exist on a fresh clone until the build has made
 * it, and vitest imports every `globalSetup` file before it calls the first one. So
 * `packages/testing` is built first, then the server starts (initdb, on the core `tsc` leaves
 * idle) while the rest of the workspace builds.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await tsc(['packages/testing']);
  const testing = (await import('./packages/testing/dist/global-setup.js')) as {
    default: (project: TestProject) => Promise<() => Promise<void>>;
  };
  const [server, built] = await Promise.allSettled([testing.default(project), tsc([])]);
  if (built.status === 'rejected') {
    if (server.status === 'fulfilled') await server.value();
    throw built.reason;
  }
  if (server.status === 'rejected') throw server.reason;
  // In watch mode, a rerun builds again too.
  project.onTestsRerun(() => tsc([]));
  return server.value;
}

/** `tsc -b [projects]` with the workspace's own TypeScript (all of it by default); rejects with the compiler's output. */
async function tsc(projects: readonly string[]): Promise<void> {
  const root = fileURLToPath(new URL('.', import.meta.url));
  const bin = fileURLToPath(new URL('./node_modules/.bin/tsc', import.meta.url));
  await new Promise<void>((resolve, reject) => {
    execFile(bin, ['-b', ...projects], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`tsc -b failed, so no test ran:\n${`${stdout}${stderr}`.trim() || err.message}`));
    });
  });
}
