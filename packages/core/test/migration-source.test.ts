import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqlFolder, checksum } from '../src/index.js';
import { MIGRATIONS } from './helpers.js';

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-mig-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('SQL folder migration source', () => {
  it('reads NNNN_name.sql in order, with down parts from a marker or a twin file', async () => {
    const list = await sqlFolder(MIGRATIONS).load();
    expect(list.map((m) => m.name)).toEqual(['0001_create_posts', '0002_add_owner']);
    expect(list[0]!.down).toBe('drop table posts;');
    expect(list[0]!.up).not.toMatch(/drop table/);
    expect(list[0]!.checksum).toBe(checksum(list[0]!.up));
    const dir = await folder({
      '0002_b.sql': 'select 2;',
      '0001_a.sql': 'select 1;',
      '0001_a.down.sql': 'select -1;',
      'README.md': 'not sql',
    });
    const twins = await sqlFolder(dir).load();
    expect(twins.map((m) => [m.name, m.down])).toEqual([
      ['0001_a', 'select -1;'],
      ['0002_b', undefined],
    ]);
  });

  it('rejects badly named, empty, doubly-downed and orphaned files with MIGRATION_INVALID', async () => {
    const cases: Record<string, string>[] = [
      { '1_short.sql': 'select 1;' },
      { '0001_empty.sql': '   \n-- down\nselect 1;' },
      { '0001_a.sql': 'select 1;\n-- down\nselect 2;', '0001_a.down.sql': 'select 3;' },
      { '0001_a.sql': 'select 1;', '0002_b.down.sql': 'select 3;' },
    ];
    for (const files of cases) {
      await expect(sqlFolder(await folder(files)).load(), JSON.stringify(files)).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
    }
  });

  it('checksums ignore line endings and surrounding whitespace only', () => {
    expect(checksum('select 1;\r\n')).toBe(checksum('select 1;'));
    expect(checksum('select 1;')).not.toBe(checksum('select 2;'));
  });
});
