/**
 * Truncation of one text or a pair, with overflow windows, following the Rust `tokenizers` core (≤ 0.22, the
 * version transformers uses): the first window is the truncated encoding, the others go to `overflowing`.
 * Word ids and offsets of every window are those of the untruncated text.
 */
import { InputError, TruncationError } from '../errors.js';
import { Encoding } from './encoding.js';

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';
export type Side = 'left' | 'right';

export interface TruncationParams {
  /** Token budget for the content of both texts (the special tokens are already subtracted). */
  maxLength: number;
  strategy: TruncationStrategy;
  /** Tokens of context repeated from the previous window at the start of each overflow window. */
  stride: number;
  side: Side;
  /** Keep the overflow windows (default true); without them only the kept window is built. */
  keepOverflow?: boolean;
}

/**
 * The [start, end) token ranges of the windows of a sequence of `length` tokens cut to `maxLength` with `stride`.
 * Right side: [0, W), [W−S, 2W−S), … until a window reaches the end. Left side: the mirror image, starting from
 * the end (the first range is the one kept).
 */
export function windowRanges(
  length: number,
  maxLength: number,
  stride: number,
  side: Side,
): [number, number][] {
  return Array.from(eachWindowRange(length, maxLength, stride, side));
}

/**
 * The ranges of `windowRanges` one at a time, so a text of millions of tokens is cut as its windows are used. The
 * stride is checked at the call, before the first range.
 */
export function eachWindowRange(
  length: number,
  maxLength: number,
  stride: number,
  side: Side,
): Iterable<[number, number]> {
  if (maxLength >= length) return [[0, length]];
  if (maxLength === 0)
    return [
      [0, 0],
      [0, length],
    ];
  if (stride >= maxLength) {
    throw new InputError(
      `stride (${stride}) must be strictly less than the number of tokens each window of the truncated text can ` +
        `hold (${maxLength}, after the special tokens and, for pairs, the other text)`,
      { argument: 'stride' },
    );
  }
  return slidingRanges(length, maxLength, maxLength - stride, side);
}

function* slidingRanges(
  length: number,
  maxLength: number,
  step: number,
  side: Side,
): Generator<[number, number]> {
  if (side === 'right') {
    for (let start = 0; ; start += step) {
      const stop = Math.min(start + maxLength, length);
      yield [start, stop];
      if (stop === length) return;
    }
  }
  for (let stop = length; ; stop -= step) {
    const start = Math.max(stop - maxLength, 0);
    yield [start, stop];
    if (start === 0) return;
  }
}

/**
 * Cuts `encoding` to `maxLength` tokens in place of a copy: returns the kept window with the other windows in its
 * `overflowing`. An encoding that already fits is returned unchanged.
 */
export function truncateEncoding(
  encoding: Encoding,
  maxLength: number,
  stride: number,
  side: Side,
  keepOverflow = true,
): Encoding {
  if (maxLength >= encoding.length) return encoding;
  if (!keepOverflow) {
    // Same validation as with windows, without building them.
    if (maxLength > 0) windowRanges(maxLength + 1, maxLength, stride, side);
    return side === 'right'
      ? encoding.slice(0, maxLength)
      : encoding.slice(encoding.length - maxLength, encoding.length);
  }
  const [first, ...rest] = windowRanges(encoding.length, maxLength, stride, side);
  const kept = encoding.slice(first[0], first[1]);
  kept.overflowing = rest.map(([s, e]) => encoding.slice(s, e));
  return kept;
}

/** How many tokens of each text a LongestFirst truncation keeps (Rust's rule, see fixtures README section B). */
export function longestFirstLengths(
  firstLength: number,
  secondLength: number,
  budget: number,
): [number, number] {
  if (firstLength + secondLength <= budget) return [firstLength, secondLength];
  const swap = firstLength > secondLength;
  let short = swap ? secondLength : firstLength;
  let long: number;
  if (short > budget) long = short;
  else long = Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [long, short] : [short, long];
}

/**
 * Truncates a text (and its pair) so that together they hold at most `params.maxLength` tokens.
 * Throws TruncationError with the Rust core's messages when `only_second` has no pair to cut, or when the text
 * to cut is too short to remove enough tokens.
 */
export function truncateEncodings(
  first: Encoding,
  second: Encoding | null,
  params: TruncationParams,
): [Encoding, Encoding | null] {
  const { maxLength, stride, side } = params;
  const keep = params.keepOverflow ?? true;
  const cut = (encoding: Encoding, length: number) => truncateEncoding(encoding, length, stride, side, keep);
  if (maxLength === 0) return [cut(first, 0), second && cut(second, 0)];
  const total = first.length + (second?.length ?? 0);
  if (total <= maxLength) return [first, second];
  const toRemove = total - maxLength;

  if (params.strategy === 'longest_first') {
    if (!second) return [cut(first, maxLength), null];
    const [n1, n2] = longestFirstLengths(first.length, second.length, maxLength);
    return [cut(first, n1), cut(second, n2)];
  }

  const cutsFirst = params.strategy === 'only_first';
  if (!cutsFirst && !second) {
    throw new TruncationError('Truncation error: Second sequence not provided', { argument: 'truncation' });
  }
  const target = cutsFirst ? first : (second as Encoding);
  if (target.length <= toRemove) {
    throw new TruncationError(
      'Truncation error: Sequence to truncate too short to respect the provided max_length',
      {
        argument: 'maxLength',
      },
    );
  }
  const kept = cut(target, target.length - toRemove);
  return cutsFirst ? [kept, second] : [first, kept];
}
