import { StringPattern } from '../normalized-string.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import type { PreTokenizer } from './pre-tokenizer.js';

export type PrependScheme = 'always' | 'first' | 'never';

/**
 * Rust `Metaspace`: spaces become the replacement character (default U+2581), which is prepended according to
 * the prepend scheme; with `split`, each replacement starts a new split (merged with the next piece).
 */
export class MetaspacePreTokenizer implements PreTokenizer {
  readonly type = 'Metaspace';
  private readonly spacePattern = new StringPattern(' ');
  private readonly replacementPattern: StringPattern;

  constructor(
    readonly replacement = '\u2581',
    readonly prependScheme: PrependScheme = 'always',
    readonly splitOnReplacement = true,
  ) {
    this.replacementPattern = new StringPattern(replacement);
  }

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => {
      const text = normalized.get();
      if (text.indexOf(' ') === -1 && text.indexOf(this.replacement) === -1) {
        // Common case (e.g. after WhitespaceSplit): nothing to replace, and after an optional prepend the only
        // replacement leads the text, so the merged_with_next split would return the piece unchanged.
        if (
          this.prependScheme === 'always' ||
          (this.prependScheme === 'first' && normalized.originalStart === 0)
        ) {
          normalized.prepend(this.replacement);
        }
        return [normalized];
      }
      normalized.replace(this.spacePattern, this.replacement);
      const startsWithReplacement = normalized.get().startsWith(this.replacement);
      if (this.prependScheme === 'always' && !startsWithReplacement) normalized.prepend(this.replacement);
      if (this.prependScheme === 'first' && !startsWithReplacement && normalized.originalStart === 0) {
        normalized.prepend(this.replacement);
      }
      return this.splitOnReplacement
        ? normalized.split(this.replacementPattern, 'merged_with_next')
        : [normalized];
    });
  }
}
