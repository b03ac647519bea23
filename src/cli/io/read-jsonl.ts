/**
 * JSON Lines input: one JSON object per line, the text taken from a chosen field (see column-selection.ts).
 * A line holding a bare JSON string is taken as the text itself. Blank lines are skipped.
 */
import type { Readable } from 'node:stream';
import { InputError } from '../../errors.js';
import { selectColumns, type ColumnChoice, type SelectedColumns } from './column-selection.js';
import type { InputRow } from './input-row.js';
import { sourceLines } from './source-stream.js';

export async function* readJsonlRows(
  stream: Readable,
  name: string,
  choice: ColumnChoice,
): AsyncGenerator<InputRow> {
  let index = 0;
  let columns: SelectedColumns | undefined;
  for await (const line of sourceLines(stream, name)) {
    if (line.text.trim() === '') continue;
    const at = `${name}:${line.number}`;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      throw new InputError(`${at}: malformed JSON line: ${(error as Error).message}`, {
        file: name,
        cause: error,
      });
    }
    if (typeof value === 'string' && choice.column === undefined && choice.pairColumn === undefined) {
      yield { index: index++, text: value, line: line.number };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      throw new InputError(`${at}: expected a JSON object (or a JSON string), got ${kind}`, { file: name });
    }
    const record = value as Record<string, unknown>;
    columns ??= selectColumns(Object.keys(record), choice, { file: name, line: line.number, noun: 'field' });
    const text = fieldText(record, columns.text, true, at, name);
    const textPair =
      columns.pair === undefined
        ? undefined
        : fieldText(record, columns.pair, columns.pairRequired, at, name);
    yield textPair === undefined
      ? { index: index++, text: text!, line: line.number }
      : { index: index++, text: text!, textPair, line: line.number };
  }
  if (index === 0) throw new InputError(`${name}: empty input: no JSON lines`, { file: name });
}

function fieldText(
  record: Record<string, unknown>,
  field: string,
  required: boolean,
  at: string,
  file: string,
): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) {
    if (!required) return undefined;
    const available =
      Object.keys(record)
        .map((k) => JSON.stringify(k))
        .join(', ') || '(none)';
    throw new InputError(`${at}: field "${field}" is missing; available fields: ${available}`, {
      file,
      field,
    });
  }
  if (typeof value !== 'string') {
    throw new InputError(
      `${at}: field "${field}" must be a string, got ${Array.isArray(value) ? 'an array' : typeof value}`,
      {
        file,
        field,
      },
    );
  }
  return value;
}
