/**
 * The text of one sequence cut into splits (Rust `PreTokenizedString`): each split is a NormalizedString and,
 * once the added vocabulary or the model handled it, its tokens. Pre-tokenizers refine the splits that have no
 * tokens yet; `toEncoding` maps token offsets back to the original text and numbers words by split index.
 */
import { Encoding } from '../encoding/encoding.js';
import type { Model, Token } from './model.js';
import { NormalizedString } from './normalized-string.js';

export interface Split {
  normalized: NormalizedString;
  /** Tokens with offsets relative to `normalized`, or null while not tokenized. */
  tokens: Token[] | null;
}

export class PreTokenizedString {
  readonly original: string;
  splits: Split[];

  constructor(text: string | NormalizedString) {
    const normalized = typeof text === 'string' ? new NormalizedString(text) : text;
    this.original = normalized.root;
    this.splits = [{ normalized, tokens: null }];
  }

  /**
   * Replaces every split without tokens by the pieces `splitFn` returns for it (`index` is the split's position
   * before this call). Empty pieces are dropped, as in Rust.
   */
  split(splitFn: (index: number, normalized: NormalizedString) => (NormalizedString | Split)[]): void {
    const next: Split[] = [];
    const splits = this.splits;
    for (let i = 0; i < splits.length; i++) {
      const split = splits[i]!;
      if (split.tokens !== null) {
        next.push(split);
        continue;
      }
      const pieces = splitFn(i, split.normalized);
      for (let k = 0; k < pieces.length; k++) {
        const piece = pieces[k]!;
        const asSplit: Split =
          piece instanceof NormalizedString ? { normalized: piece, tokens: null } : piece;
        if (asSplit.normalized.length > 0) next.push(asSplit);
      }
    }
    this.splits = next;
  }

  /** Applies `normalize` to every split without tokens. */
  normalize(normalize: (normalized: NormalizedString) => void): void {
    for (const split of this.splits) if (split.tokens === null) normalize(split.normalized);
  }

  /** Tokenizes every split without tokens. */
  tokenize(tokenize: (normalized: NormalizedString) => Token[]): void {
    for (const split of this.splits) if (split.tokens === null) split.tokens = tokenize(split.normalized);
  }

  tokenizeWith(model: Model): void {
    this.tokenize((normalized) => model.tokenize(normalized.get()));
  }

  /** [normalized text, [start, end) in the original text] of each split, like Rust `get_splits`. */
  getSplits(): [string, [number, number]][] {
    return this.splits.map((s) => [s.normalized.get(), s.normalized.offsetsOriginal()]);
  }

  /**
   * The Encoding of the tokenized splits: offsets in UTF-16 units of the original text, word id = split index
   * (or `wordIndex` for every token when given), type id `typeId`, no special tokens.
   */
  toEncoding(typeId = 0, wordIndex: number | null = null): Encoding {
    const ids: number[] = [];
    const tokens: string[] = [];
    const words: (number | null)[] = [];
    const offsets: [number, number][] = [];
    for (let idx = 0; idx < this.splits.length; idx++) {
      const split = this.splits[idx]!;
      if (split.tokens === null) {
        throw new Error('PreTokenizedString.toEncoding: a split was not tokenized (call tokenize first)');
      }
      const word = wordIndex ?? idx;
      const normalized = split.normalized;
      for (const token of split.tokens) {
        ids.push(token.id);
        tokens.push(token.value);
        words.push(word);
        const mapped = normalized.normalizedToOriginal(token.offsets[0], token.offsets[1]);
        offsets.push(mapped ?? [token.offsets[0], token.offsets[1]]);
      }
    }
    return buildEncoding(ids, tokens, words, offsets, typeId);
  }
}

/** An Encoding of one sequence without special tokens: attention 1, special mask 0, one sequence range. */
export function buildEncoding(
  ids: number[],
  tokens: string[],
  words: (number | null)[],
  offsets: [number, number][],
  typeId: number,
): Encoding {
  const n = ids.length;
  return new Encoding(
    ids,
    new Array<number>(n).fill(typeId),
    tokens,
    words,
    offsets,
    new Array<number>(n).fill(0),
    new Array<number>(n).fill(1),
    [],
    new Map([[0, [0, n]]]),
  );
}
