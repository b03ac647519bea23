/**
 * The post-processing stage: adds special tokens around one text or a pair, sets type ids, the special-tokens
 * mask and sequence ranges, then concatenates the parts. Like the Rust core, each processor implements
 * `processEncodings` (one encoding per text in, the parts to concatenate out); `processWithWindows` applies it to
 * every combination of truncation windows so each overflow window gets its own special tokens.
 */
import { Encoding } from '../../encoding/encoding.js';

export interface PostProcessor {
  readonly type: string;
  /** Number of special tokens added to one text (`isPair` false) or a pair. */
  addedTokens(isPair: boolean): number;
  /**
   * One encoding per text (no overflow windows; sequence ranges already set to 0 and 1) → the encodings to
   * concatenate, in order.
   */
  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[];
  /**
   * Processes a text and its optional pair, overflow windows included: the result's `overflowing` holds every
   * other combination of windows, each processed the same way.
   */
  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding;
  /**
   * The processed encoding as a fixed sequence of pieces, when the processor only inserts special tokens and sets
   * type ids (no offset rewriting): lets the batch layer build each row, padding included, in one pass instead of
   * `process` + concat + pad. Undefined or null: use `process`.
   */
  layout?(isPair: boolean, addSpecialTokens: boolean): readonly LayoutPiece[] | null;
  /**
   * The layout of the ids and type ids alone, for processors whose `layout` is null only because they also
   * rewrite offsets (byte-level offset trimming). Undefined: the same as `layout`.
   */
  idLayout?(isPair: boolean, addSpecialTokens: boolean): readonly LayoutPiece[] | null;
}

/** The pieces of a processed row's ids and type ids, or null when only `process` knows them. */
export function idLayoutOf(
  processor: PostProcessor,
  isPair: boolean,
  addSpecialTokens: boolean,
): readonly LayoutPiece[] | null {
  if (processor.idLayout !== undefined) return processor.idLayout(isPair, addSpecialTokens);
  return processor.layout?.(isPair, addSpecialTokens) ?? null;
}

/**
 * One piece of a processed encoding: every token of text `sequence` (type ids set to `typeId`, or kept when
 * null), or special tokens (mask 1, attention 1, no word, offsets [0, 0]).
 */
export type LayoutPiece =
  | { kind: 'sequence'; sequence: 0 | 1; typeId: number | null }
  | { kind: 'special'; ids: readonly number[]; tokens: readonly string[]; typeId: number };

/** Shared `process` for all processors. */
export abstract class BasePostProcessor implements PostProcessor {
  abstract readonly type: string;
  abstract addedTokens(isPair: boolean): number;
  abstract processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[];

  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding {
    return processWithWindows(this, encoding, pair, addSpecialTokens);
  }
}

/**
 * Processes one combination of windows: marks sequence ids, runs the processor and concatenates its parts.
 * The inputs are not modified.
 */
function processOne(processor: PostProcessor, parts: Encoding[], addSpecialTokens: boolean): Encoding {
  parts.forEach((part, i) => part.setSequenceId(i));
  return Encoding.concat(processor.processEncodings(parts, addSpecialTokens));
}

/**
 * Applies `processor` to the first window of each text and to every other window combination, in the Rust core's
 * order: main = A₀+B₀; then for each overflow window Aᵢ: Aᵢ+B₀ followed by Aᵢ+Bⱼ for each overflow window Bⱼ;
 * then A₀+Bⱼ for each Bⱼ. With only one text cut (only_first / only_second) this is simply window after window,
 * the other text repeated whole.
 */
export function processWithWindows(
  processor: PostProcessor,
  encoding: Encoding,
  pair: Encoding | null,
  addSpecialTokens: boolean,
): Encoding {
  const firstWindows = [encoding.withoutOverflow(), ...encoding.overflowing];
  const pairWindows = pair ? [pair.withoutOverflow(), ...pair.overflowing] : [];
  const hasWindows = firstWindows.length > 1 || pairWindows.length > 1;
  // Processors may rewrite type ids and offsets, so a window used in several combinations is copied each time.
  const use = (window: Encoding) => (hasWindows ? window.slice(0, window.length) : window);
  const combine = (a: Encoding, b: Encoding | undefined) =>
    processOne(processor, b ? [use(a), use(b)] : [use(a)], addSpecialTokens);

  const main = combine(firstWindows[0], pairWindows[0]);
  if (!hasWindows) return main;
  for (let i = 1; i < firstWindows.length; i++) {
    main.overflowing.push(combine(firstWindows[i], pairWindows[0]));
    for (let j = 1; j < pairWindows.length; j++)
      main.overflowing.push(combine(firstWindows[i], pairWindows[j]));
  }
  for (let j = 1; j < pairWindows.length; j++)
    main.overflowing.push(combine(firstWindows[0], pairWindows[j]));
  return main;
}

const specialCache = new Map<string, Encoding>();

/**
 * The encoding of special tokens (`ids`/`tokens`) with type id `typeId`: mask 1, offsets [0, 0], no word. It is
 * cached and shared between rows (marked so that `Encoding.concat` copies it): processors must not modify it.
 */
export function specialTokensEncoding(
  ids: readonly number[],
  tokens: readonly string[],
  typeId: number,
): Encoding {
  const key = `${typeId}\u0000${ids.join(',')}\u0000${tokens.join('\u0000')}`;
  const cached = specialCache.get(key);
  if (cached) return cached;
  const n = ids.length;
  const encoding = new Encoding(
    [...ids],
    new Array<number>(n).fill(typeId),
    [...tokens],
    new Array<number | null>(n).fill(null),
    Array.from({ length: n }, () => [0, 0] as [number, number]),
    new Array<number>(n).fill(1),
    new Array<number>(n).fill(1),
  );
  if (specialCache.size < 1000) specialCache.set(key, Encoding.markShared(encoding));
  return encoding;
}

/** Used when tokenizer.json has no post-processor: the texts are concatenated as they are. */
export class NoPostProcessor extends BasePostProcessor {
  readonly type = 'None';

  addedTokens(): number {
    return 0;
  }

  processEncodings(encodings: Encoding[]): Encoding[] {
    return encodings;
  }

  layout(isPair: boolean): readonly LayoutPiece[] {
    return keepLayout(isPair);
  }
}

const KEEP_SINGLE: readonly LayoutPiece[] = [{ kind: 'sequence', sequence: 0, typeId: null }];
const KEEP_PAIR: readonly LayoutPiece[] = [...KEEP_SINGLE, { kind: 'sequence', sequence: 1, typeId: null }];

/** The layout of processors that add nothing without special tokens: the texts with their own type ids. */
export function keepLayout(isPair: boolean): readonly LayoutPiece[] {
  return isPair ? KEEP_PAIR : KEEP_SINGLE;
}
