/**
 * bench:http — preloaded (`node --import`) into the servers under test when
 * BENCH_HTTP_ASYNC_COUNTS names a folder: counts the async resources (promises, ticks, timers…)
 * each HTTP request creates, and writes `<pid>.json` there on exit. Counts do not depend on the
 * machine's load, unlike CPU µs: they show what a change to the request path removed even on a
 * busy machine. The hook itself costs CPU, so the counting run is not the measuring run.
 */
import { createHook } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env['BENCH_HTTP_ASYNC_COUNTS'];
if (dir !== undefined && dir !== '') {
  const counts: Record<string, number> = {};
  let requests = 0;
  // Counted from the first request on: start-up's resources are not the request path's.
  subscribe('http.server.request.start', () => {
    requests++;
  });
  createHook({
    init(_id, type) {
      if (requests > 0) counts[type] = (counts[type] ?? 0) + 1;
    },
  }).enable();
  process.on('exit', () => {
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ requests, counts }));
  });
}
