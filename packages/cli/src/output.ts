import { isTenantryError, TenantryError } from '@tenantry/core';

/** Where output goes: `process.stdout` / `process.stderr`, or a stand-in in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

type Color = 'red' | 'green' | 'yellow' | 'dim' | 'bold';
const CODES: Record<Color, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] };

/** How a column is laid out by {@link Output.table}. */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /** Longer cells are cut with `…`. Default 60. */
  readonly max?: number;
  /** Colour of a cell (only on a colour terminal). */
  readonly color?: (cell: string) => Color | undefined;
}

/** Cuts `text` to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

/** `35 ms`, `1.2 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** `1 migration`, `2 migrations`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The error in the CLI's terms: core's messages name the library call that helps
 * (`tenancy.tenants.list()`); on the command line that is a command (`tenantry tenants list`).
 */
export function inCliTerms(err: unknown): unknown {
  if (isTenantryError(err, 'TENANT_NOT_FOUND')) {
    const tenant = err.context.tenant;
    if (tenant === undefined) return err;
    return new TenantryError(err.code, `no tenant '${tenant}'; list tenants with \`tenantry tenants list\``, {
      context: err.context,
      ...(err.cause === undefined ? {} : { cause: err.cause }),
    });
  }
  return err;
}

/** An error as a JSON value: code, message, context (TenantryError) or SQLSTATE (PostgreSQL). */
export function errorJson(error: unknown): Record<string, unknown> {
  const err = inCliTerms(error);
  if (isTenantryError(err)) return { name: err.name, code: err.code, message: err.message, context: err.context };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, ...(typeof code === 'string' ? { code } : {}), message: err.message };
  }
  return { message: String(err) };
}

/** `CODE: message` for an error, as shown in tables and on stderr. */
export function errorText(error: unknown): string {
  const err = inCliTerms(error);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return errorJson(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * All of the CLI's output. With `--json`, stdout gets exactly one JSON document
 * ({@link Output.result}); human text goes to stderr instead.
 */
export class Output {
  readonly json: boolean;
  readonly #stdout: OutputStream;
  readonly #stderr: OutputStream;
  readonly #color: boolean;

  constructor(streams: { stdout: OutputStream; stderr: OutputStream }, options: { json: boolean; env?: NodeJS.ProcessEnv }) {
    this.#stdout = streams.stdout;
    this.#stderr = streams.stderr;
    this.json = options.json;
    const env = options.env ?? {};
    this.#color = !this.json && streams.stdout.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
  }

  /** True when stdout is a terminal and not in JSON mode: progress is drawn as a bar. */
  get interactive(): boolean {
    return !this.json && this.#stdout.isTTY === true;
  }

  /** A line of human output: stdout, or stderr in JSON mode. */
  print(line = ''): void {
    (this.json ? this.#stderr : this.#stdout).write(`${line}\n`);
  }

  /** A hint or warning, always on stderr. */
  note(line: string): void {
    this.#stderr.write(`${line}\n`);
  }

  /** The command's result: one JSON document in JSON mode, else whatever `render` prints. */
  result(data: unknown, render: () => void): void {
    if (this.json) this.#stdout.write(`${JSON.stringify(data, jsonReplacer, 2)}\n`);
    else render();
  }

  /** `error [CODE]: message` on stderr (and `{ "error": … }` on stdout in JSON mode). */
  error(error: unknown, verbose = false): void {
    const err = inCliTerms(error);
    if (this.json) this.#stdout.write(`${JSON.stringify({ error: errorJson(err) }, jsonReplacer, 2)}\n`);
    const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    this.#stderr.write(`error${typeof code === 'string' ? ` [${code}]` : ''}: ${message}\n`);
    if (verbose && err instanceof Error) {
      let cause = err.cause;
      while (cause !== undefined) {
        this.#stderr.write(`  caused by: ${errorText(cause)}\n`);
        cause = cause instanceof Error ? cause.cause : undefined;
      }
    }
  }

  /** Colours text on a colour terminal; plain otherwise. */
  paint(text: string, color: Color | undefined): string {
    if (!this.#color || color === undefined) return text;
    const [on, off] = CODES[color];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  }

  /** Prints an aligned table with a header rule. */
  table(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
    const cells = rows.map((row) => columns.map((c, i) => truncate(row[i] ?? '', c.max ?? 60)));
    const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
    const pad = (text: string, i: number): string => (columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
    const line = (parts: string[]): string => parts.join('  ').trimEnd();
    this.print(line(columns.map((c, i) => this.paint(pad(c.header, i), 'bold'))));
    this.print(line(widths.map((w) => '-'.repeat(w))));
    for (const row of cells) this.print(line(row.map((cell, i) => this.paint(pad(cell, i), columns[i]!.color?.(cell)))));
  }

  /** Key/value lines, keys aligned. */
  fields(pairs: readonly (readonly [string, string])[]): void {
    const width = Math.max(...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) this.print(`${this.paint(k.padEnd(width), 'bold')}  ${v}`);
  }

  /**
   * Progress over `total` items: a bar redrawn in place on a terminal (`\r`), plain
   * `[12/300] …` lines otherwise. In JSON mode it goes to stderr, so stdout stays one document.
   */
  progress(total: number): Progress {
    const stream = this.json ? this.#stderr : this.#stdout;
    return new Progress(stream, total, stream.isTTY === true);
  }
}

/** A progress display; see {@link Output.progress}. */
export class Progress {
  readonly #stream: OutputStream;
  readonly #total: number;
  readonly #tty: boolean;
  #drawn = false;

  constructor(stream: OutputStream, total: number, tty: boolean) {
    this.#stream = stream;
    this.#total = total;
    this.#tty = tty;
  }

  /**
   * Reports that `done` of the items are finished, the last one described by `text`. `status`
   * (e.g. `2 failed`) is shown next to the bar on a terminal.
   */
  update(done: number, text: string, status?: string): void {
    const count = `${String(done).padStart(String(this.#total).length)}/${this.#total}`;
    if (!this.#tty) {
      this.#stream.write(`[${count}] ${text}\n`);
      return;
    }
    // The whole line fits the terminal's width (a wrapped line would not be redrawn in place):
    // the bar takes what is left after the counts and 20 columns of text, between 5 and 30.
    const columns = this.#stream.columns || 80;
    const tail = `${count}${status === undefined ? '' : ` · ${status}`} · `;
    const room = columns - 1 - tail.length - 3 - 20;
    const barWidth = Math.min(30, room);
    const filled = this.#total === 0 ? barWidth : Math.round((done / this.#total) * barWidth);
    const head = barWidth >= 5 ? `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${tail}` : tail;
    const max = Math.max(1, columns - 1);
    this.#stream.write(`\r\u001b[2K${head.length >= max ? head.slice(0, max) : `${head}${truncate(text, max - head.length)}`}`);
    this.#drawn = true;
  }

  /** Clears the bar (terminal) so what follows starts on a clean line. */
  finish(): void {
    if (this.#tty && this.#drawn) this.#stream.write('\r\u001b[2K');
    this.#drawn = false;
  }
}
