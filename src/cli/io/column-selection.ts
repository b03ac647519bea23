/**
 * Picks the text and text-pair columns of a CSV/TSV header or of the first JSONL object, so that common dataset
 * layouts work without flags (`text`, `sentence`, GLUE's `sentence1`/`sentence2`) and an explicit choice that does
 * not exist fails up front with the list of what does. With several columns and none of those names, nothing is
 * guessed: the first column of a real dataset is as often an id or a label as the text.
 */
import { InputError } from '../../errors.js';

export interface ColumnChoice {
  /** `--column`: the text column; undefined picks a default. */
  column?: string;
  /** `--pair-column`: the text-pair column; undefined picks a default when one exists. */
  pairColumn?: string;
}

export interface SelectedColumns {
  text: string;
  pair?: string;
  /** True when the pair column was named by the caller (a row without it is then an error, not a single text). */
  pairRequired: boolean;
}

const TEXT_DEFAULTS = ['text', 'sentence', 'sentence1'];

export function selectColumns(
  available: readonly string[],
  choice: ColumnChoice,
  where: { file: string; line: number; noun: 'column' | 'field' },
): SelectedColumns {
  const listed = available.map((n) => JSON.stringify(n)).join(', ') || '(none)';
  const missing = (name: string, argument: string): InputError =>
    new InputError(
      `${where.file}:${where.line}: ${where.noun} "${name}" (${argument}) not found; available ${where.noun}s: ${listed}`,
      { file: where.file, field: name, argument },
    );
  let text: string | undefined;
  if (choice.column !== undefined) {
    if (!available.includes(choice.column)) throw missing(choice.column, '--column');
    text = choice.column;
  } else {
    text = TEXT_DEFAULTS.find((name) => available.includes(name));
    if (text === undefined && available.length > 1) {
      throw new InputError(
        `${where.file}:${where.line}: ${available.length} ${where.noun}s and none is named ${TEXT_DEFAULTS.map((n) => `"${n}"`).join(', ')}: pass --column NAME to say which holds the text; available ${where.noun}s: ${listed}`,
        { file: where.file, argument: '--column' },
      );
    }
    text ??= available[0];
  }
  if (text === undefined) {
    throw new InputError(`${where.file}:${where.line}: no ${where.noun}s to read the text from`, {
      file: where.file,
    });
  }
  if (choice.pairColumn !== undefined) {
    if (!available.includes(choice.pairColumn)) throw missing(choice.pairColumn, '--pair-column');
    return { text, pair: choice.pairColumn, pairRequired: true };
  }
  // Default pair: `text_pair` (the transformers argument name), or `sentence2` beside GLUE's `sentence1`.
  const pair = available.includes('text_pair')
    ? 'text_pair'
    : text === 'sentence1' && available.includes('sentence2')
      ? 'sentence2'
      : undefined;
  return { text, pair: pair === text ? undefined : pair, pairRequired: false };
}
