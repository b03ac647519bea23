/**
 * Turns the CLI's input choices (positional texts, `--input FILE`, stdin) into one async iterable of rows in input
 * order, picking the reader from `--input-format` or the file extension.
 */
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { InputError } from '../../errors.js';
import type { ColumnChoice } from './column-selection.js';
import { INPUT_FORMATS, type InputFormat, type InputRow } from './input-row.js';
import { readDelimitedRows } from './read-delimited.js';
import { readJsonlRows } from './read-jsonl.js';
import { readTxtRows } from './read-txt.js';
import { openSourceFile, STDIN_NAME } from './source-stream.js';

export interface InputSpec extends ColumnChoice {
  /** Texts given on the command line; when non-empty they are the whole input. */
  texts?: string[];
  /** Input file; `-` reads stdin. */
  file?: string;
  /** Format of the file or stdin; inferred from the file extension, `txt` for stdin. */
  format?: InputFormat;
  /** CSV/TSV quote character, or null for none. Default `"`. */
  quote?: string | null;
  /** Stream read when the input is stdin (tests pass their own). Default process.stdin. */
  stdin?: Readable;
}

const EXTENSION_FORMATS: Record<string, InputFormat> = {
  '.txt': 'txt',
  '.text': 'txt',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
};

/** The format a spec will be read as (exported so callers can report it). */
export function resolveInputFormat(spec: InputSpec): InputFormat {
  if (spec.format !== undefined) {
    if (!(INPUT_FORMATS as readonly string[]).includes(spec.format)) {
      throw new InputError(
        `--input-format: expected one of ${INPUT_FORMATS.join(', ')}, got "${spec.format}"`,
        {
          argument: '--input-format',
        },
      );
    }
    return spec.format;
  }
  if (spec.file === undefined || spec.file === '-') return 'txt';
  const format = EXTENSION_FORMATS[extname(spec.file).toLowerCase()];
  if (format === undefined) {
    throw new InputError(
      `${spec.file}: cannot tell the input format from the extension "${extname(spec.file)}"; pass --input-format ${INPUT_FORMATS.join('|')}`,
      { file: spec.file, argument: '--input-format' },
    );
  }
  return format;
}

/** Rows of the input in order. Errors (missing file, bad line, missing column) surface as InputError on iteration. */
export async function* readInputRows(spec: InputSpec): AsyncGenerator<InputRow> {
  if (spec.texts !== undefined && spec.texts.length > 0) {
    if (spec.file !== undefined) {
      throw new InputError('pass texts as arguments or --input FILE, not both', { argument: '--input' });
    }
    for (let index = 0; index < spec.texts.length; index++) {
      yield { index, text: spec.texts[index]!, line: index + 1 };
    }
    return;
  }
  const format = resolveInputFormat(spec);
  const fromStdin = spec.file === undefined || spec.file === '-';
  const name = fromStdin ? STDIN_NAME : spec.file!;
  let stream: Readable;
  if (fromStdin) {
    stream = spec.stdin ?? process.stdin;
    if ((stream as Readable & { isTTY?: boolean }).isTTY) {
      throw new InputError('no input: pass texts as arguments, --input FILE, or pipe texts to stdin', {
        argument: '--input',
      });
    }
  } else {
    stream = await openSourceFile(name);
  }
  switch (format) {
    case 'txt':
      yield* readTxtRows(stream, name);
      return;
    case 'jsonl':
      yield* readJsonlRows(stream, name, spec);
      return;
    case 'csv':
    case 'tsv':
      yield* readDelimitedRows(stream, name, {
        delimiter: format === 'csv' ? ',' : '\t',
        quote: spec.quote === undefined ? '"' : spec.quote,
        column: spec.column,
        pairColumn: spec.pairColumn,
      });
      return;
  }
}

/** Counts the rows of a file input by reading it once (used only to give the progress bar a total). */
export async function countInputRows(spec: InputSpec): Promise<number | undefined> {
  if (spec.texts !== undefined && spec.texts.length > 0) return spec.texts.length;
  if (spec.file === undefined || spec.file === '-') return undefined;
  let count = 0;
  for await (const _row of readInputRows(spec)) count++;
  return count;
}
