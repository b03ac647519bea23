import type { PreTokenizedString } from '../pre-tokenized-string.js';

/** The pre-tokenization stage: refines the splits of a PreTokenizedString (words, punctuation, bytes...). */
export interface PreTokenizer {
  readonly type: string;
  preTokenize(pretokenized: PreTokenizedString): void;
  /**
   * True for pre-tokenizers that always end a piece at a plain space between ASCII letters or digits and whose
   * pieces depend on nothing beyond it: pre-tokenizing the two sides of such a cut gives the pieces of the whole.
   */
  readonly separableAtSpaces?: boolean;
  /**
   * Present on pre-tokenizers that only cut the text (never rewrite it): the non-empty pieces of `text` as
   * flattened [start, end) pairs, identical to what `preTokenize` produces for one split. The pipeline uses it
   * to skip building a NormalizedString per word.
   */
  splitRanges?(text: string): number[];
  /**
   * Present on pre-tokenizers that cut the text and then rewrite each piece character for character without
   * changing its shape, when that holds for `text` (else null): the non-empty pieces as [start, end) pairs;
   * `mapPiece` gives each piece's rewritten text. Equivalent to `preTokenize` on one split.
   */
  sameShapeRanges?(text: string): number[] | null;
  mapPiece?(piece: string): string;
}

/** Keeps the non-empty spans of a flattened [start, end) list (PreTokenizedString drops empty pieces). */
export function nonEmptySpans(spans: number[]): number[] {
  let empty = false;
  for (let i = 0; i < spans.length; i += 2) {
    if (spans[i] === spans[i + 1]) {
      empty = true;
      break;
    }
  }
  if (!empty) return spans;
  const out: number[] = [];
  for (let i = 0; i < spans.length; i += 2) if (spans[i]! < spans[i + 1]!) out.push(spans[i]!, spans[i + 1]!);
  return out;
}
