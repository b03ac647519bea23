/**
 * How output records become bytes: JSON Lines (one JSON object per line) or CSV (a header row, then one row per
 * record; nested values such as arrays are written as JSON inside the cell).
 */
import { stringify } from 'csv-stringify/sync';

export const OUTPUT_FORMATS = ['jsonl', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One output row: plain JSON-serialisable values keyed by column name. */
export type OutputRecord = Record<string, unknown>;

export function jsonlLines(records: readonly OutputRecord[]): string {
  let out = '';
  for (const record of records) out += JSON.stringify(record) + '\n';
  return out;
}

export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value);
}

export function csvRows(rows: readonly (readonly string[])[]): string {
  return stringify(rows as string[][], { record_delimiter: '\n' });
}

/** CSV text for records under a fixed header; a key outside the header is a programming error, not silent loss. */
export function csvRecords(records: readonly OutputRecord[], columns: readonly string[]): string {
  const known = new Set(columns);
  const rows = records.map((record) => {
    for (const key of Object.keys(record)) {
      if (!known.has(key)) {
        throw new Error(
          `output record has a field "${key}" that is not a CSV column (${columns.join(', ')})`,
        );
      }
    }
    return columns.map((column) => csvCell(record[column]));
  });
  return csvRows(rows);
}
