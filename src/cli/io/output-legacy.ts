/**
 * Checks an output written without a manifest (by a version before manifests, or by hand) before `--resume` builds
 * on it: every complete line must read as a row of one command (JSONL: an object, all with the same keys, each
 * key holding the same kind of value; CSV: a header and records of its width). The first new records are then
 * compared with that shape, so two junk lines cannot pass for two finished rows.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { InputError } from '../../errors.js';
import type { OutputFormat, OutputRecord } from './output-format.js';
import { sourceLines } from './source-stream.js';

/** The shape every row of a plain output shares. */
export interface PlainRowShape {
  /** JSONL keys, or the CSV header. */
  keys: string[];
  /** JSONL: the kind of value under each key where some row had a non-null one (CSV cells are all text). */
  kinds: Record<string, string>;
}

export interface PlainOutput {
  /** Rows in the complete part (the CSV header not counted). */
  rows: number;
  /** Undefined when there is no complete row (nor header). */
  shape?: PlainRowShape;
}

/** `array`, `object`, `string`, `number`, `boolean` or `null`. */
export function valueKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function refuse(file: string, line: number, what: string): InputError {
  return new InputError(
    `${file}:${line}: cannot resume: ${what}, so this file is not (only) the output of a seqbatch run; remove it (or fix that line) to start over, or run without --resume to replace it`,
    { file, argument: '--resume' },
  );
}

/** Reads and checks the first `completeBytes` bytes of a plain output. */
export async function checkPlainOutput(
  file: string,
  format: OutputFormat,
  completeBytes: number,
): Promise<PlainOutput> {
  if (completeBytes === 0) return { rows: 0 };
  const stream = createReadStream(file, { end: completeBytes - 1 });
  return format === 'jsonl' ? checkJsonl(file, stream) : checkCsv(file, stream);
}

async function checkJsonl(file: string, stream: Readable): Promise<PlainOutput> {
  let rows = 0;
  let shape: PlainRowShape | undefined;
  for await (const line of sourceLines(stream, file)) {
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      throw refuse(file, line.number, `this line is not JSON (${JSON.stringify(line.text.slice(0, 40))})`);
    }
    if (valueKind(value) !== 'object') {
      throw refuse(file, line.number, `this line holds a JSON ${valueKind(value)}, not a row object`);
    }
    const record = value as OutputRecord;
    const keys = Object.keys(record);
    if (shape === undefined) shape = { keys, kinds: {} };
    else if (keys.join('\u0000') !== shape.keys.join('\u0000')) {
      throw refuse(
        file,
        line.number,
        `this row has the keys ${keys.join(', ')} where line 1 has ${shape.keys.join(', ')}`,
      );
    }
    for (const key of keys) {
      const kind = valueKind(record[key]);
      if (kind === 'null') continue;
      const seen = (shape.kinds[key] ??= kind);
      if (seen !== kind)
        throw refuse(file, line.number, `"${key}" holds a ${kind} where earlier rows hold a ${seen}`);
    }
    rows++;
  }
  return { rows, shape };
}

async function checkCsv(file: string, stream: Readable): Promise<PlainOutput> {
  let rows = -1;
  let shape: PlainRowShape | undefined;
  const parser = stream.pipe(parse({ bom: false, relax_column_count: false }));
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (shape === undefined) shape = { keys: record, kinds: {} };
      rows++;
    }
  } catch (error) {
    const line = Number((error as CsvError).lines ?? 0);
    throw refuse(file, line, `it does not read as CSV rows under one header (${(error as Error).message})`);
  }
  return { rows: Math.max(rows, 0), shape };
}

/** Refuses new records whose shape differs from the plain output's rows (another command or other options). */
export function checkRecordsFit(
  file: string,
  format: OutputFormat,
  shape: PlainRowShape,
  record: OutputRecord,
): void {
  const keys = Object.keys(record);
  const sameKeys =
    format === 'jsonl'
      ? keys.length === shape.keys.length && keys.every((k) => shape.keys.includes(k))
      : keys.every((k) => shape.keys.includes(k));
  const kindClash = keys.find((key) => {
    const kind = valueKind(record[key]);
    const seen = shape.kinds[key];
    return kind !== 'null' && seen !== undefined && seen !== kind;
  });
  if (!sameKeys || kindClash !== undefined) {
    const detail = !sameKeys
      ? `its rows have the ${format === 'csv' ? 'columns' : 'keys'} ${shape.keys.join(', ')}, this run writes ${keys.join(', ')}`
      : `"${kindClash}" holds a ${shape.kinds[kindClash!]} in its rows, a ${valueKind(record[kindClash!])} in this run's`;
    throw new InputError(
      `${file}: cannot resume: the file was written by another command or with other options (${detail}); run without --resume to replace it, or write to another --output`,
      { file, argument: '--resume' },
    );
  }
}
