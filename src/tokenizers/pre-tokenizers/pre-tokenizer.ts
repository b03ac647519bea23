import type { PreTokenizedString } from '../pre-tokenized-string.js';

/** The pre-tokenization stage: refines the splits of a PreTokenizedString (words, punctuation, bytes...). */
export interface PreTokenizer {
  readonly type: string;
  preTokenize(pretokenized: PreTokenizedString): void;
}
