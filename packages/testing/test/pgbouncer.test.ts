import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgbouncerMissing } from '../dist/index.js';

describe('pgbouncerMissing', () => {
  it('names the executable it looked for and says how to install pgbouncer when it is missing', () => {
    const missing = pgbouncerMissing('/nonexistent/pgbouncer');
    expect(missing).toContain('looked for /nonexistent/pgbouncer');
    expect(missing).toContain('apt-get install pgbouncer');
  });

  it('is undefined when the executable exists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-pgbouncer-test-'));
    try {
      const fake = join(dir, 'pgbouncer');
      await writeFile(fake, '#!/bin/sh\n');
      await chmod(fake, 0o755);
      expect(pgbouncerMissing(fake)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
