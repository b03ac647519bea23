import type { NormalizedString } from '../normalized-string.js';
import { isCombiningMark } from './char-classes.js';
import type { Normalizer } from './normalizer.js';

export type UnicodeForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/** NFC / NFD / NFKC / NFKD normalizers. */
export class UnicodeNormalizer implements Normalizer {
  /** A space is a starter that composes with nothing: no (de)composition reaches across it. */
  readonly separableAtSpaces = true;

  constructor(readonly type: UnicodeForm) {}

  normalize(normalized: NormalizedString): void {
    normalized.unicodeNormalize(this.type);
  }
}

/** Per-character lowercase (Rust `Lowercase`). */
export class LowercaseNormalizer implements Normalizer {
  readonly type = 'Lowercase';
  readonly separableAtSpaces = true;

  normalize(normalized: NormalizedString): void {
    normalized.lowercase();
  }
}

/** Removes combining marks (Mn, Mc, Me). Like Rust's `StripAccents`, it does not decompose first: pair it with NFD. */
export class StripAccentsNormalizer implements Normalizer {
  readonly type = 'StripAccents';
  readonly separableAtSpaces = true;

  normalize(normalized: NormalizedString): void {
    normalized.filter((cp) => !isCombiningMark(cp));
  }
}
