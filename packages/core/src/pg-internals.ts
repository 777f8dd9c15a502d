import { createRequire } from 'node:module';
import pg from 'pg';

/**
 * The parts of `pg` the single-Sync batch reuses so that values and rows are converted exactly
 * as `pg` converts them (custom type parsers, `toPostgres`, dates). Typed here because
 * `@types/pg` does not describe them.
 */
const require = createRequire(import.meta.url);

/** pg's conversion of a JavaScript value to a parameter (handles Date, Buffer, arrays, toPostgres). */
export const prepareValue = (require('pg/lib/utils.js') as { prepareValue: (value: unknown) => unknown }).prepareValue;

/** pg's result accumulator. */
export interface PgResult {
  command: string | null;
  rowCount: number | null;
  rows: unknown[];
  fields: unknown[];
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): unknown;
  addRow(row: unknown): void;
  addCommandComplete(msg: { text: string }): void;
}

export const PgResult = pg.Result as unknown as new (rowMode?: string, types?: unknown) => PgResult;
