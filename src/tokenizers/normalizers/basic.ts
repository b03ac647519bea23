import { BYTES_TO_UNICODE } from '../byte-level.js';
import { isAscii, type NormalizedString, type Pattern } from '../normalized-string.js';
import type { Normalizer } from './normalizer.js';

/** Removes leading and/or trailing whitespace (Rust `Strip`). */
export class StripNormalizer implements Normalizer {
  readonly type = 'Strip';

  constructor(
    readonly left: boolean,
    readonly right: boolean,
  ) {}

  normalize(normalized: NormalizedString): void {
    normalized.stripEnds(this.left, this.right);
  }
}

/** Replaces every match of a literal or regex pattern by `content` (Rust `Replace`). */
export class ReplaceNormalizer implements Normalizer {
  readonly type = 'Replace';

  constructor(
    readonly pattern: Pattern,
    readonly content: string,
  ) {}

  normalize(normalized: NormalizedString): void {
    normalized.replace(this.pattern, this.content);
  }
}

/** Prepends a string to any non-empty input (Rust `Prepend`). */
export class PrependNormalizer implements Normalizer {
  readonly type = 'Prepend';

  constructor(readonly prepend: string) {}

  normalize(normalized: NormalizedString): void {
    if (this.prepend.length > 0) normalized.prepend(this.prepend);
  }
}

/** Applies several normalizers in order. */
export class SequenceNormalizer implements Normalizer {
  readonly type = 'Sequence';

  constructor(readonly normalizers: Normalizer[]) {}

  get separableAtSpaces(): boolean {
    return this.normalizers.every((n) => n.separableAtSpaces === true);
  }

  normalize(normalized: NormalizedString): void {
    for (const n of this.normalizers) n.normalize(normalized);
  }
}

/**
 * Rust `Nmt`: drops C0/C1 control characters other than whitespace, and turns tab, newlines, zero-width and a few
 * other separators into plain spaces (each a single BMP unit, so the shape is kept).
 */
export class NmtNormalizer implements Normalizer {
  readonly type = 'Nmt';
  readonly separableAtSpaces = true;

  normalize(normalized: NormalizedString): void {
    normalized.filter(
      (cp) =>
        !(
          (cp >= 0x01 && cp <= 0x08) ||
          cp === 0x0b ||
          (cp >= 0x0e && cp <= 0x1f) ||
          cp === 0x7f ||
          cp === 0x8f ||
          cp === 0x9f
        ),
    );
    const text = normalized.get();
    const spaced = text.replace(/[\t\n\f\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]/g, ' ');
    if (spaced !== text) normalized.replaceSameShape(spaced);
  }
}

/** Rewrites each character as the GPT-2 characters of its UTF-8 bytes (Rust `ByteLevel` normalizer). */
export class ByteLevelNormalizer implements Normalizer {
  readonly type = 'ByteLevel';

  normalize(normalized: NormalizedString): void {
    byteLevelTransform(normalized);
  }
}

const encoder = new TextEncoder();
// eslint-disable-next-line no-control-regex -- exactly the ASCII bytes GPT-2 remaps
const ASCII_REMAPPED = /[\x00-\x20\x7f]/g;

/**
 * Byte-level form of ASCII text: one byte per character, each mapped to one BMP character, so the shape is
 * kept. Only controls, space and DEL map to another character.
 */
export function byteLevelAscii(text: string): string {
  return text.replace(ASCII_REMAPPED, (c) => BYTES_TO_UNICODE[c.charCodeAt(0)]!);
}

/**
 * Maps each character to the byte-level characters of its UTF-8 encoding: the first byte replaces the character
 * (change 0), the other bytes are inserted (change +1), so every byte aligns to its source character.
 */
export function byteLevelTransform(normalized: NormalizedString): void {
  const text = normalized.get();
  if (text.length === 0) return;
  if (isAscii(text)) {
    const mapped = byteLevelAscii(text);
    if (mapped !== text) normalized.replaceSameShape(mapped);
    return;
  }
  let out = '';
  const changes: number[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    // A lone surrogate is not valid UTF-8; Rust strings cannot hold one, TextEncoder writes U+FFFD for it.
    const bytes = encoder.encode(String.fromCodePoint(cp));
    for (let b = 0; b < bytes.length; b++) {
      out += BYTES_TO_UNICODE[bytes[b]!]!;
      changes.push(b === 0 ? 0 : 1);
    }
    i += width;
  }
  normalized.transform(out, changes, 0);
}
