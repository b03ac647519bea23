import type { NormalizedString } from '../normalized-string.js';

/** The normalization stage: rewrites a NormalizedString in place, keeping its alignments exact. */
export interface Normalizer {
  readonly type: string;
  normalize(normalized: NormalizedString): void;
}
