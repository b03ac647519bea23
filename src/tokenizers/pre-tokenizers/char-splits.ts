/**
 * Pre-tokenizers that split on character classes: BERT, WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit
 * and the regex-based Whitespace. All of them are one `NormalizedString.split` with a Rust behavior.
 */
import {
  CharPredicatePattern,
  InvertedPattern,
  RegexPattern,
  type NormalizedString,
  type SplitDelimiterBehavior,
} from '../normalized-string.js';
import { isBertPunctuation, isNumeric, isWhitespace } from '../normalizers/char-classes.js';
import { translateOnigRegex } from '../normalizers/onig-regex.js';
import type { PreTokenizedString } from '../pre-tokenized-string.js';
import type { PreTokenizer } from './pre-tokenizer.js';

const whitespacePattern = new CharPredicatePattern(isWhitespace);
const punctuationPattern = new CharPredicatePattern(isBertPunctuation);

/**
 * Rust `BertPreTokenizer`: split on whitespace (removed), then isolate each punctuation character. Done in one
 * scan, which yields the same pieces in the same order as the two Rust passes.
 */
export class BertPreTokenizer implements PreTokenizer {
  readonly type = 'BertPreTokenizer';

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => splitWhitespaceAndPunctuation(normalized));
  }
}

export function splitWhitespaceAndPunctuation(normalized: NormalizedString): NormalizedString[] {
  const text = normalized.get();
  const out: NormalizedString[] = [];
  let wordStart = -1;
  for (let i = 0; i < text.length;) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const space = isWhitespace(cp);
    const punct = !space && isBertPunctuation(cp);
    if (space || punct) {
      if (wordStart !== -1) {
        out.push(normalized.slice(wordStart, i)!);
        wordStart = -1;
      }
      if (punct) out.push(normalized.slice(i, i + width)!);
    } else if (wordStart === -1) {
      wordStart = i;
    }
    i += width;
  }
  if (wordStart !== -1) out.push(normalized.slice(wordStart, text.length)!);
  return out;
}

/** Rust `WhitespaceSplit`: split on White_Space characters, removing them. */
export class WhitespaceSplitPreTokenizer implements PreTokenizer {
  readonly type = 'WhitespaceSplit';

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => normalized.split(whitespacePattern, 'removed'));
  }
}

/** Rust `Whitespace`: keeps the matches of `\w+|[^\w\s]+` (Unicode classes). */
export class WhitespacePreTokenizer implements PreTokenizer {
  readonly type = 'Whitespace';
  private static readonly pattern = new InvertedPattern(
    new RegexPattern(translateOnigRegex('\\w+|[^\\w\\s]+', 'pre_tokenizer.Whitespace')),
  );

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => normalized.split(WhitespacePreTokenizer.pattern, 'removed'));
  }
}

/** Rust `Punctuation`: split on BERT punctuation characters with the given behavior (default isolated). */
export class PunctuationPreTokenizer implements PreTokenizer {
  readonly type = 'Punctuation';

  constructor(readonly behavior: SplitDelimiterBehavior = 'isolated') {}

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => normalized.split(punctuationPattern, this.behavior));
  }
}

/** Rust `Digits`: numeric characters isolated one by one, or grouped into runs. */
export class DigitsPreTokenizer implements PreTokenizer {
  readonly type = 'Digits';
  private static readonly pattern = new CharPredicatePattern(isNumeric);

  constructor(readonly individualDigits: boolean) {}

  preTokenize(pretokenized: PreTokenizedString): void {
    const behavior = this.individualDigits ? 'isolated' : 'contiguous';
    pretokenized.split((_, normalized) => normalized.split(DigitsPreTokenizer.pattern, behavior));
  }
}

/** Rust `CharDelimiterSplit`: split on one character, removing it. */
export class CharDelimiterSplitPreTokenizer implements PreTokenizer {
  readonly type = 'CharDelimiterSplit';
  private readonly pattern: CharPredicatePattern;

  constructor(readonly delimiter: string) {
    const cp = delimiter.codePointAt(0)!;
    this.pattern = new CharPredicatePattern((c) => c === cp);
  }

  preTokenize(pretokenized: PreTokenizedString): void {
    pretokenized.split((_, normalized) => normalized.split(this.pattern, 'removed'));
  }
}
