/**
 * Pre-tokenizers that split on character classes: BERT, WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit
 * and the regex-based Whitespace. Each is one `NormalizedString.split` with a Rust behavior (BERT's two passes are
 * fused into one scan), so each also offers `splitRanges`.
 */
import {
  applyBehavior,
  CharPredicatePattern,
  InvertedPattern,
  RegexPattern,
  type NormalizedString,
  type Pattern,
  type SplitDelimiterBehavior,
} from '../normalized-string.js';
import { isBertPunctuation, isNumeric, isWhitespace } from '../normalizers/char-classes.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import { nonEmptySpans, type PreTokenizer } from './pre-tokenizer.js';

/** A pre-tokenizer that is exactly one `split(pattern, behavior)` on every split. */
export abstract class PatternSplitPreTokenizer implements PreTokenizer {
  abstract readonly type: string;

  constructor(
    protected readonly pattern: Pattern,
    readonly behavior: SplitDelimiterBehavior,
  ) {}

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => normalized.split(this.pattern, this.behavior));
  }

  splitRanges(text: string): number[] {
    return nonEmptySpans(applyBehavior(this.pattern.findMatches(text), this.behavior));
  }
}

/**
 * Rust `BertPreTokenizer`: split on whitespace (removed), then isolate each punctuation character. Done in one
 * scan, which yields the same pieces in the same order as the two Rust passes.
 */
export class BertPreTokenizer implements PreTokenizer {
  readonly type = 'BertPreTokenizer';
  readonly separableAtSpaces = true;

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => splitWhitespaceAndPunctuation(normalized));
  }

  splitRanges(text: string): number[] {
    return bertRanges(text);
  }
}

/** [start, end) pairs of BERT pre-tokens: runs of non-space non-punctuation, and single punctuation characters. */
export function bertRanges(text: string): number[] {
  const out: number[] = [];
  let wordStart = -1;
  for (let i = 0; i < text.length;) {
    let cp = text.charCodeAt(i);
    let width = 1;
    let space: boolean;
    let punct: boolean;
    if (cp < 0x80) {
      space = cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
      punct =
        !space &&
        ((cp >= 0x21 && cp <= 0x2f) ||
          (cp >= 0x3a && cp <= 0x40) ||
          (cp >= 0x5b && cp <= 0x60) ||
          cp >= 0x7b) &&
        cp !== 0x7f;
    } else {
      if (cp >= 0xd800 && cp <= 0xdbff) {
        cp = text.codePointAt(i)!;
        if (cp > 0xffff) width = 2;
      }
      space = isWhitespace(cp);
      punct = !space && isBertPunctuation(cp);
    }
    if (space || punct) {
      if (wordStart !== -1) {
        out.push(wordStart, i);
        wordStart = -1;
      }
      if (punct) out.push(i, i + width);
    } else if (wordStart === -1) {
      wordStart = i;
    }
    i += width;
  }
  if (wordStart !== -1) out.push(wordStart, text.length);
  return out;
}

export function splitWhitespaceAndPunctuation(normalized: NormalizedString): NormalizedString[] {
  const ranges = bertRanges(normalized.get());
  const out: NormalizedString[] = [];
  for (let i = 0; i < ranges.length; i += 2) out.push(normalized.slice(ranges[i]!, ranges[i + 1]!)!);
  return out;
}

/** Rust `WhitespaceSplit`: split on White_Space characters, removing them. */
export class WhitespaceSplitPreTokenizer extends PatternSplitPreTokenizer {
  readonly type = 'WhitespaceSplit';
  readonly separableAtSpaces = true;

  constructor() {
    super(new CharPredicatePattern(isWhitespace), 'removed');
  }
}

/** Rust `Whitespace`: keeps the matches of `\w+|[^\w\s]+` (Unicode classes). */
export class WhitespacePreTokenizer extends PatternSplitPreTokenizer {
  readonly type = 'Whitespace';
  readonly separableAtSpaces = true;

  constructor() {
    // The Rust `regex` crate's Unicode \w (unlike Oniguruma's) includes Join_Control.
    super(
      new InvertedPattern(
        new RegexPattern(
          /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu,
        ),
      ),
      'removed',
    );
  }
}

/** Rust `Punctuation`: split on BERT punctuation characters with the given behavior (default isolated). */
export class PunctuationPreTokenizer extends PatternSplitPreTokenizer {
  readonly type = 'Punctuation';

  constructor(behavior: SplitDelimiterBehavior = 'isolated') {
    super(new CharPredicatePattern(isBertPunctuation), behavior);
  }
}

/** Rust `Digits`: numeric characters isolated one by one, or grouped into runs. */
export class DigitsPreTokenizer extends PatternSplitPreTokenizer {
  readonly type = 'Digits';

  constructor(readonly individualDigits: boolean) {
    super(new CharPredicatePattern(isNumeric), individualDigits ? 'isolated' : 'contiguous');
  }
}

/** Rust `CharDelimiterSplit`: split on one character, removing it. */
export class CharDelimiterSplitPreTokenizer extends PatternSplitPreTokenizer {
  readonly type = 'CharDelimiterSplit';

  constructor(readonly delimiter: string) {
    const cp = delimiter.codePointAt(0)!;
    super(new CharPredicatePattern((c) => c === cp), 'removed');
  }
}
