/**
 * Character classes as the Rust `tokenizers` crate defines them (BERT's whitespace / control / punctuation /
 * CJK tests, `char::is_numeric`, non-spacing marks). Non-ASCII answers come from Unicode property regexes and are
 * memoised per code point in one byte table, so the hot loops never run a regex twice for the same character.
 */
import { isWhitespaceCodePoint } from '../normalized-string.js';

const KNOWN = 1;
const PUNCTUATION = 2; // \p{P}
// Cc, Cf, Cs, Co but not Cn: the Rust crate's `is_other` tables list assigned characters only, so an unassigned
// code point is kept (and becomes [UNK]) rather than removed as a control character.
const OTHER = 4;
const MARK_NONSPACING = 8; // \p{Mn}
const NUMERIC = 16; // \p{N}
const ALPHABETIC = 32; // \p{Alphabetic}
const MARK = 64; // \p{M}: Mn, Mc, Me

const flags = new Uint8Array(0x110000);

const reP = /^\p{P}$/u;
const reC = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}]$/u;
const reMn = /^\p{Mn}$/u;
const reN = /^\p{N}$/u;
const reAlpha = /^\p{Alphabetic}$/u;
const reM = /^\p{M}$/u;

function classify(cp: number): number {
  let f = flags[cp]!;
  if (f !== 0) return f;
  // Lone surrogates cannot be tested as strings with the u flag in a meaningful way: they are category Cs.
  if (cp >= 0xd800 && cp <= 0xdfff) {
    f = KNOWN | OTHER;
  } else {
    const ch = String.fromCodePoint(cp);
    f = KNOWN;
    if (reP.test(ch)) f |= PUNCTUATION;
    if (reC.test(ch)) f |= OTHER;
    if (reMn.test(ch)) f |= MARK_NONSPACING;
    if (reN.test(ch)) f |= NUMERIC;
    if (reAlpha.test(ch)) f |= ALPHABETIC;
    if (reM.test(ch)) f |= MARK;
  }
  flags[cp] = f;
  return f;
}

export { isWhitespaceCodePoint as isWhitespace };

/** BERT's whitespace: space, tab, newline, carriage return, or any White_Space character. */
export function isBertWhitespace(cp: number): boolean {
  return isWhitespaceCodePoint(cp);
}

/** BERT's control: any assigned "Other" character (Cc, Cf, Cs, Co) except tab, newline and carriage return. */
export function isBertControl(cp: number): boolean {
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return false;
  if (cp < 0x20 || cp === 0x7f) return true;
  if (cp < 0x80) return false;
  return (classify(cp) & OTHER) !== 0;
}

/** ASCII punctuation or Unicode punctuation (Pc, Pd, Ps, Pe, Pi, Pf, Po). */
export function isBertPunctuation(cp: number): boolean {
  if (cp < 0x80) {
    return (
      (cp >= 0x21 && cp <= 0x2f) ||
      (cp >= 0x3a && cp <= 0x40) ||
      (cp >= 0x5b && cp <= 0x60) ||
      (cp >= 0x7b && cp <= 0x7e)
    );
  }
  return (classify(cp) & PUNCTUATION) !== 0;
}

/** The CJK ideograph blocks BERT surrounds with spaces. */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** Unicode category Mn. */
export function isMarkNonspacing(cp: number): boolean {
  if (cp < 0x300) return false;
  return (classify(cp) & MARK_NONSPACING) !== 0;
}

/** Any combining mark (Mn, Mc, Me), unicode-normalization's `is_combining_mark`. */
export function isCombiningMark(cp: number): boolean {
  if (cp < 0x300) return false;
  return (classify(cp) & MARK) !== 0;
}

/** Rust `char::is_numeric`: categories Nd, Nl, No. */
export function isNumeric(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return (classify(cp) & NUMERIC) !== 0;
}

/** Rust `char::is_alphanumeric`: Alphabetic or numeric. */
export function isAlphanumeric(cp: number): boolean {
  if (cp < 0x80)
    return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return (classify(cp) & (NUMERIC | ALPHABETIC)) !== 0;
}
