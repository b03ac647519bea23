/** Plain text input: one text per line. Blank lines are skipped (they would only produce empty texts). */
import type { Readable } from 'node:stream';
import { InputError } from '../../errors.js';
import type { InputRow } from './input-row.js';
import { sourceLines } from './source-stream.js';

export async function* readTxtRows(stream: Readable, name: string): AsyncGenerator<InputRow> {
  let index = 0;
  for await (const line of sourceLines(stream, name)) {
    if (line.text.trim() === '') continue;
    yield { index: index++, text: line.text, line: line.number };
  }
  if (index === 0) throw new InputError(`${name}: empty input: no non-blank lines`, { file: name });
}
