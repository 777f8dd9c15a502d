import type { MobilityProgress } from '@tenantry/core';
import type { Output, Progress } from './output.js';
import { plural } from './output.js';

/** A progress bar over the tables of a backup, restore, clone or move (stderr in JSON mode). */
export function tableProgress(out: Output): { onProgress: (p: MobilityProgress) => void; finish: () => void } {
  let progress: Progress | undefined;
  return {
    onProgress: (p) => {
      progress ??= out.progress(p.total);
      progress.update(p.done, `${p.table}: ${plural(p.rows, 'row')}`);
    },
    finish: () => progress?.finish(),
  };
}
