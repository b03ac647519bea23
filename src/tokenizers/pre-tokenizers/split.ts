import { InvertedPattern, type Pattern, type SplitDelimiterBehavior } from '../normalized-string.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import { PatternSplitPreTokenizer } from './char-splits.js';
import type { PreTokenizer } from './pre-tokenizer.js';

/** Rust `Split`: split on a literal or regex pattern with a behavior, optionally inverted. */
export class SplitPreTokenizer extends PatternSplitPreTokenizer {
  readonly type = 'Split';

  constructor(
    pattern: Pattern,
    behavior: SplitDelimiterBehavior,
    readonly invert = false,
  ) {
    super(invert ? new InvertedPattern(pattern) : pattern, behavior);
  }
}

/** Applies several pre-tokenizers in order. */
export class SequencePreTokenizer implements PreTokenizer {
  readonly type = 'Sequence';

  constructor(readonly preTokenizers: PreTokenizer[]) {}

  get separableAtSpaces(): boolean {
    return this.preTokenizers.every((p) => p.separableAtSpaces === true);
  }

  preTokenize(pretokenized: PreTokenizedString): void {
    for (const p of this.preTokenizers) p.preTokenize(pretokenized);
  }
}
