import { applyBehavior, isAscii, RegexPattern } from '../normalized-string.js';
import { byteLevelAscii, byteLevelTransform } from '../normalizers/basic.js';
import { translateOnigRegex } from '../normalizers/onig-regex.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import { nonEmptySpans, type PreTokenizer } from './pre-tokenizer.js';

/** GPT-2's split pattern, as the Rust crate compiles it with Oniguruma. */
export const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const gpt2 = new RegexPattern(translateOnigRegex(GPT2_PATTERN, 'pre_tokenizer.ByteLevel'));

/**
 * Rust `ByteLevel` pre-tokenizer: optionally prefix a space, split with the GPT-2 regex (isolated), then rewrite
 * every split as byte-level characters, each byte aligned to the character it came from. `trim_offsets` belongs
 * to the post-processor and is ignored here.
 */
export class ByteLevelPreTokenizer implements PreTokenizer {
  readonly type = 'ByteLevel';

  constructor(
    readonly addPrefixSpace = true,
    readonly useRegex = true,
  ) {}

  /**
   * The GPT-2 pattern ends a piece before " word" and " 123", and a text that starts with a space gets no prefix
   * space, so the side after such a cut is pre-tokenized as within the whole. Without the pattern the whole text
   * is one piece.
   */
  get separableAtSpaces(): boolean {
    return this.useRegex;
  }

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => {
      if (this.addPrefixSpace && !normalized.get().startsWith(' ')) normalized.prepend(' ');
      return this.useRegex ? normalized.split(gpt2, 'isolated') : [normalized];
    });
    pretokenized.normalize(byteLevelTransform);
  }

  /** ASCII text that needs no prefix space: the byte-level rewrite keeps each piece's shape. */
  sameShapeRanges(text: string): number[] | null {
    if (!isAscii(text) || (this.addPrefixSpace && !text.startsWith(' '))) return null;
    if (!this.useRegex) return text.length > 0 ? [0, text.length] : [];
    return nonEmptySpans(applyBehavior(gpt2.findMatches(text), 'isolated'));
  }

  mapPiece(piece: string): string {
    return byteLevelAscii(piece);
  }
}
