import type { NormalizedString } from '../normalized-string.js';
import { isBertControl, isBertWhitespace, isChineseChar, isMarkNonspacing } from './char-classes.js';
import type { Normalizer } from './normalizer.js';

export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** null follows `lowercase`, as in the Rust crate. */
  stripAccents: boolean | null;
  lowercase: boolean;
}

/** Rust `BertNormalizer`: clean text, space out CJK ideographs, strip accents, lowercase (in that order). */
export class BertNormalizer implements Normalizer {
  readonly type = 'BertNormalizer';
  readonly separableAtSpaces = true;
  readonly options: BertNormalizerOptions;

  constructor(options: Partial<BertNormalizerOptions> = {}) {
    this.options = {
      cleanText: options.cleanText ?? true,
      handleChineseChars: options.handleChineseChars ?? true,
      stripAccents: options.stripAccents ?? null,
      lowercase: options.lowercase ?? true,
    };
  }

  normalize(normalized: NormalizedString): void {
    const { cleanText, handleChineseChars, lowercase } = this.options;
    const stripAccents = this.options.stripAccents ?? lowercase;
    if (isPrintableAscii(normalized.get())) {
      // Nothing to clean, no CJK, no accents: only the case can change.
      if (lowercase) normalized.lowercase();
      return;
    }
    if (cleanText) {
      normalized.filter((cp) => !(cp === 0 || cp === 0xfffd || isBertControl(cp)));
      // Every White_Space character is a single BMP unit, so turning it into a space keeps the shape.
      const text = normalized.get();
      if (hasNonSpaceWhitespace(text)) normalized.replaceSameShape(text.replace(NON_SPACE_WHITESPACE, ' '));
    }
    if (handleChineseChars) spaceOutChineseChars(normalized);
    if (stripAccents) {
      normalized.nfd();
      normalized.filter((cp) => !isMarkNonspacing(cp));
    }
    if (lowercase) normalized.lowercase();
  }
}

function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

const NON_SPACE_WHITESPACE = /[\t\n\v\f\r\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g;

function hasNonSpaceWhitespace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && isBertWhitespace(c)) return true;
  }
  return false;
}

/** Each CJK ideograph c becomes " c " with all three characters aligned to c. */
function spaceOutChineseChars(normalized: NormalizedString): void {
  const text = normalized.get();
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (
      c >= 0x3400 &&
      (isChineseChar(c) || (c >= 0xd800 && c <= 0xdbff && isChineseChar(text.codePointAt(i)!)))
    ) {
      found = true;
      break;
    }
  }
  if (!found) return;
  let out = '';
  const changes: number[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const ch = text.slice(i, i + width);
    if (isChineseChar(cp)) {
      out += ' ' + ch + ' ';
      changes.push(0, 1, 1);
    } else {
      out += ch;
      changes.push(0);
    }
    i += width;
  }
  normalized.transform(out, changes, 0);
}
