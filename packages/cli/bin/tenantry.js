#!/usr/bin/env node
// The `tenantry` bin. Committed (not built) so that npm links it at install time: npm links a
// workspace package's bin only when its target exists then, and dist/ is written later by the build.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    `tenantry: ${fileURLToPath(cli)} does not exist: the CLI is not built yet. Run \`npm run build\` first (in the repository root), then run tenantry again.\n`,
  );
  process.exit(1);
}
const { runAsProcess } = await import(cli.href);
await runAsProcess();
