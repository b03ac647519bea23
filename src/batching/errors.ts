/**
 * The error a batch run rejects with when the caller's `runBatch` fails: it names the input positions of the
 * batch's items, so a failure on item 1,234,567 of a stream can be traced to its input, and keeps the original
 * error as `cause`.
 */
import { SeqbatchError } from '../errors.js';

export class BatchError extends SeqbatchError {
  /** Input positions (0-based, across the whole input) of the failed batch's items, ascending. */
  readonly indices: readonly number[];

  constructor(message: string, indices: readonly number[], cause?: unknown) {
    super('ERR_BATCH', message, { argument: 'runBatch', cause });
    this.indices = indices;
  }
}

/** `3, 17, 42` or `3, 17, 42, … (40 items)` for messages. */
export function describeIndices(indices: readonly number[], shown = 8): string {
  const head = indices.slice(0, shown).join(', ');
  return indices.length <= shown ? head : `${head}, … (${indices.length} items)`;
}
