/**
 * The tokens of one text as the single-sequence stage produces them (no special tokens), before they become an
 * Encoding: the batch layer builds rows straight from these when no truncation is needed, skipping the
 * per-text type id, mask and attention arrays.
 */
import { Encoding } from './encoding.js';

export interface SequenceTokens {
  ids: number[];
  tokens: string[];
  /** Word index of each token. */
  words: (number | null)[];
  /** start0, end0, start1, end1, …: UTF-16 [start, end) of each token in the text. */
  offsets: number[];
}

/** The Encoding of one text: every type id `typeId`, attention 1, special mask 0, one sequence range (0). */
export function sequenceEncoding(sequence: SequenceTokens, typeId: number): Encoding {
  const n = sequence.ids.length;
  return Encoding.withFlatOffsets(
    sequence.ids,
    new Array<number>(n).fill(typeId),
    sequence.tokens,
    sequence.words,
    sequence.offsets,
    new Array<number>(n).fill(0),
    new Array<number>(n).fill(1),
    new Map([[0, [0, n]]]),
  );
}
