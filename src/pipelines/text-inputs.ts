/** Checks of the text inputs pipelines take, with errors naming the input's position and field. */
import type { Encoding } from '../encoding/encoding.js';
import { InputError } from '../errors.js';

/** A text, or a text pair as `{ text, textPair }` (Python's `{"text": ..., "text_pair": ...}`). */
export type TextOrPair = string | { text: string; textPair?: string | null };

/**
 * A text or pair, or an Encoding the pipeline's own tokenizer already made of one (`tokenizer.encode(text, pair)`,
 * special tokens included, unpadded), which then runs as it is: a caller that tokenised to count or inspect tokens
 * need not pay for it twice.
 */
export type TextOrEncoding = TextOrPair | Encoding;

export function readText(value: unknown, index: number): string {
  if (typeof value !== 'string') {
    throw new InputError(`inputs[${index}]: expected a string, got ${describeValue(value)}`, {
      argument: `inputs[${index}]`,
    });
  }
  return value;
}

export function readTextOrPair(value: unknown, index: number): { text: string; pair: string | null } {
  if (typeof value === 'string') return { text: value, pair: null };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(
      `inputs[${index}]: expected a string or { text, textPair }, got ${describeValue(value)}`,
      { argument: `inputs[${index}]` },
    );
  }
  const { text, textPair } = value as { text?: unknown; textPair?: unknown };
  if (typeof text !== 'string') {
    throw new InputError(
      `inputs[${index}].text: a text pair needs its first text as a string, got ${describeValue(text)}`,
      { argument: `inputs[${index}].text` },
    );
  }
  if (textPair === undefined || textPair === null) {
    if ('textPair' in value) {
      throw new InputError(`inputs[${index}].textPair: the second text of the pair is missing`, {
        argument: `inputs[${index}].textPair`,
      });
    }
    return { text, pair: null };
  }
  if (typeof textPair !== 'string') {
    throw new InputError(`inputs[${index}].textPair: expected a string, got ${describeValue(textPair)}`, {
      argument: `inputs[${index}].textPair`,
    });
  }
  return { text, pair: textPair };
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
