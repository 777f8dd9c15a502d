import type { Logger } from '@tenantry/core';
import { errorJson, type OutputStream } from './output.js';

/** With `--verbose`: Tenantry's log as one JSON line per entry on stderr. */
export function stderrLogger(stream: OutputStream): Logger {
  const write = (level: string) => (obj: object, msg?: string) => {
    const line = JSON.stringify({ level, time: new Date().toISOString(), msg, ...obj }, (_k, v: unknown) =>
      v instanceof Error ? errorJson(v) : v,
    );
    stream.write(`${line}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
