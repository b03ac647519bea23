/**
 * CSV / TSV input with a header row, streamed through csv-parse. The text (and pair) columns are chosen by header
 * name (see column-selection.ts). Quoting follows RFC 4180 with `"` by default; files whose fields contain stray
 * unbalanced quotes (GLUE's MRPC, for one) need `quote: null` (`--quote none`).
 */
import { parse, CsvError } from 'csv-parse';
import { pipeline, type Readable } from 'node:stream';
import { InputError } from '../../errors.js';
import { selectColumns, type ColumnChoice } from './column-selection.js';
import type { InputRow } from './input-row.js';

export interface DelimitedOptions extends ColumnChoice {
  delimiter: ',' | '\t';
  /** Quote character, or null to read quotes as ordinary characters. */
  quote: string | null;
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

export async function* readDelimitedRows(
  stream: Readable,
  name: string,
  options: DelimitedOptions,
): AsyncGenerator<InputRow> {
  const parser = parse({
    delimiter: options.delimiter,
    quote: options.quote ?? false,
    bom: true,
    info: true,
    skip_empty_lines: true,
  });
  // pipeline (unlike pipe) passes a read error of the source on to the parser, so iteration fails instead of
  // waiting forever; the error itself surfaces from the loop below.
  pipeline(stream, parser, () => {});
  let textAt = -1;
  let pairAt = -1;
  let pairRequired = false;
  let header: string[] | undefined;
  let index = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<ParsedRecord>) {
      if (header === undefined) {
        header = record;
        const columns = selectColumns(header, options, { file: name, line: info.lines, noun: 'column' });
        textAt = header.indexOf(columns.text);
        pairAt = columns.pair === undefined ? -1 : header.indexOf(columns.pair);
        pairRequired = columns.pairRequired;
        continue;
      }
      const text = record[textAt]!;
      const pair = pairAt === -1 ? undefined : record[pairAt]!;
      // An empty pair cell in a defaulted pair column means "no pair" for that row; a named one is kept as is.
      yield pair === undefined || (pair === '' && !pairRequired)
        ? { index: index++, text, line: info.lines }
        : { index: index++, text, textPair: pair, line: info.lines };
    }
  } catch (error) {
    if (error instanceof CsvError) throw csvInputError(error, name, options);
    throw error instanceof InputError
      ? error
      : new InputError(`${name}: read failed: ${(error as Error).message}`, { file: name, cause: error });
  } finally {
    stream.destroy();
  }
  if (header === undefined) throw new InputError(`${name}: empty input: no header row`, { file: name });
  if (index === 0)
    throw new InputError(`${name}: empty input: a header row but no data rows`, { file: name });
}

function csvInputError(error: CsvError, name: string, options: DelimitedOptions): InputError {
  const line = (error as CsvError & { lines?: number }).lines;
  const at = line === undefined ? name : `${name}:${line}`;
  // Stray quotes show up as an unclosed quote, or as a record that swallowed following lines (and so has the
  // wrong field count): only then is --quote none the likely fix.
  const record = (error as CsvError & { record?: unknown }).record;
  const swallowedLines =
    Array.isArray(record) && record.some((field) => typeof field === 'string' && field.includes('\n'));
  const quoteHint =
    options.quote !== null &&
    (error.code === 'CSV_QUOTE_NOT_CLOSED' ||
      error.code === 'CSV_INVALID_CLOSING_QUOTE' ||
      (error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' && swallowedLines))
      ? ' (if quotes in this file are ordinary characters, not CSV quoting, pass --quote none)'
      : '';
  return new InputError(
    `${at}: malformed ${options.delimiter === '\t' ? 'TSV' : 'CSV'}: ${error.message}${quoteHint}`,
    {
      file: name,
      cause: error,
    },
  );
}
