import { access, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { defineCommand, UsageError } from '../command.js';
import { choiceFlag } from '../flags.js';
import { tableProgress } from '../mobility-progress.js';
import { formatDuration, plural } from '../output.js';

const FORMATS = ['tenantry', 'pg_dump'] as const;

/** `tenantry tenants backup <idOrSlug> --out <file> [--format tenantry|pg_dump] [--force]` */
export const tenantsBackup = defineCommand({
  name: 'tenants backup',
  summary: "Write one tenant's archive to a file: its data in one snapshot, with a manifest",
  args: [{ name: 'idOrSlug', required: true, description: "the tenant's id or slug" }],
  flags: {
    out: { type: 'string', value: 'file', required: true, description: 'the archive file to write' },
    format: {
      type: 'string',
      value: 'format',
      description: "tenantry (default: Tenantry's archive, restorable anywhere) or pg_dump (custom format; needs the server's pg_dump)",
    },
    force: { type: 'boolean', description: 'overwrite the file if it exists' },
  },
  details: [
    'The tenant keeps serving. A tenant whose catalog drifted from its migrations is refused (CATALOG_DRIFTED).',
    'The file appears only once the archive is complete (written to <file>.partial, then renamed).',
    'JSON: { "tenant", "file", "bytes", "format", "manifest" }',
  ].join('\n'),
  async run({ args, flags, out, tenancy }) {
    const format = choiceFlag(flags.format, 'format', FORMATS) ?? 'tenantry';
    const file = flags.out!;
    if (file.trim() === '' || file.includes('\0')) throw new UsageError('--out must be a file path');
    const t = await tenancy();
    const started = Date.now();
    if (format === 'pg_dump') {
      const dump = await t.mobility.pgDump(args['idOrSlug']!, file, { overwrite: flags.force === true });
      out.result({ tenant: args['idOrSlug'], file: dump.file, bytes: dump.bytes, format, pgDump: dump.pgDump }, () =>
        out.print(
          `Wrote ${dump.file} (${dump.bytes} bytes, pg_dump ${dump.serverMajor} custom format) in ${formatDuration(Date.now() - started)}.`,
        ),
      );
      return 0;
    }
    if (
      flags.force !== true &&
      (await access(file).then(
        () => true,
        () => false,
      ))
    )
      throw new UsageError(`${file} exists; remove it or pass --force`);
    const partial = `${file}.partial`;
    const stream = createWriteStream(partial, { flags: flags.force === true ? 'w' : 'wx' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EEXIST' ? new UsageError(`${partial} exists (another backup running?); remove it or pass --force`) : err),
      );
    });
    const progress = tableProgress(out);
    try {
      const manifest = await t.mobility.backup(args['idOrSlug']!, stream, { onProgress: progress.onProgress });
      stream.end();
      await finished(stream);
      await rename(partial, file);
      progress.finish();
      const bytes = stream.bytesWritten;
      const rows = manifest.tableData.reduce((n, x) => n + x.rows, 0);
      out.result({ tenant: manifest.tenant, file, bytes, format, manifest }, () =>
        out.print(
          `Backed up '${manifest.tenant.slug}' to ${file}: ${plural(manifest.tableData.length, 'table')}, ${plural(rows, 'row')}, ${bytes} bytes in ${formatDuration(Date.now() - started)} (data checksum ${manifest.dataChecksum.slice(0, 16)}…).`,
        ),
      );
      return 0;
    } catch (err) {
      progress.finish();
      stream.destroy();
      await rm(partial, { force: true });
      throw err;
    }
  },
});
