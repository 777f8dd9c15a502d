/**
 * Runs `fn` over `items` with at most `limit` running at once, in order of `items`.
 * `stop()` returning true stops taking new items; those not started are reported to `skipped`.
 */
export async function runConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  options: { stop?: () => boolean; skipped?: (item: T, index: number) => void } = {},
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index]!;
      if (options.stop?.()) {
        options.skipped?.(item, index);
        continue;
      }
      await fn(item, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
