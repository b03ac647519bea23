import type { NormalizedString } from '../normalized-string.js';

/** The normalization stage: rewrites a NormalizedString in place, keeping its alignments exact. */
export interface Normalizer {
  readonly type: string;
  normalize(normalized: NormalizedString): void;
  /**
   * True for normalizers that work character by character (their output at a position never depends on text
   * past a plain space): normalizing the two sides of a text cut at a space between ASCII letters or digits gives
   * what normalizing the whole text gives. The pipeline then encodes a very long text piece by piece.
   */
  readonly separableAtSpaces?: boolean;
}
