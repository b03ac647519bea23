/**
 * The model stage: turns one pre-tokenized word (a split of the normalized text) into tokens.
 * Offsets are [start, end) in UTF-16 code units of the `sequence` string given to `tokenize`.
 */
export interface Token {
  id: number;
  value: string;
  offsets: [number, number];
}

export interface Model {
  readonly type: string;
  tokenize(sequence: string): Token[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  getVocab(): Map<string, number>;
  getVocabSize(): number;
}
