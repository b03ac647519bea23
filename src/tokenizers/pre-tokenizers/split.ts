import { InvertedPattern, type Pattern, type SplitDelimiterBehavior } from '../normalized-string.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import type { PreTokenizer } from './pre-tokenizer.js';

/** Rust `Split`: split on a literal or regex pattern with a behavior, optionally inverted. */
export class SplitPreTokenizer implements PreTokenizer {
  readonly type = 'Split';
  private readonly effective: Pattern;

  constructor(
    readonly pattern: Pattern,
    readonly behavior: SplitDelimiterBehavior,
    readonly invert = false,
  ) {
    this.effective = invert ? new InvertedPattern(pattern) : pattern;
  }

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => normalized.split(this.effective, this.behavior));
  }
}

/** Applies several pre-tokenizers in order. */
export class SequencePreTokenizer implements PreTokenizer {
  readonly type = 'Sequence';

  constructor(readonly preTokenizers: PreTokenizer[]) {}

  preTokenize(pretokenized: PreTokenizedString): void {
    for (const p of this.preTokenizers) p.preTokenize(pretokenized);
  }
}
