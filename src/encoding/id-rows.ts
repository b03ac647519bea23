/**
 * The rows a model runs for one text (or pair), built from token ids alone: the ids and type ids `encodeBatch`
 * gives for the same call (special tokens from the post-processor's layout, the truncation strategies, overflow
 * windows with their stride), without token strings, word ids or offsets. Windows are cut lazily from one
 * Int32Array of ids, so a text of millions of tokens costs its ids (4 bytes a token) plus the windows in use,
 * instead of an Encoding of five per-token arrays and every window's copy of them.
 */
import type { LayoutPiece } from '../tokenizers/post-processors/post-processor.js';
import { eachWindowRange, longestFirstLengths, type Side } from './truncation.js';

/** One model row: token ids and type ids of the same length, every position real. */
export interface IdRow {
  ids: number[];
  typeIds: number[];
}

/** The row of `first` and `second` (null for one text) laid out as `layout` says. */
export function layoutIdRow(
  layout: readonly LayoutPiece[],
  first: ArrayLike<number>,
  second: ArrayLike<number> | null,
): IdRow {
  const ids: number[] = [];
  const typeIds: number[] = [];
  for (const piece of layout) {
    if (piece.kind === 'special') {
      for (const id of piece.ids) {
        ids.push(id);
        typeIds.push(piece.typeId);
      }
      continue;
    }
    const text = piece.sequence === 0 ? first : second;
    if (text === null) continue;
    // A text's own type id is its position (0 or 1), as the single-sequence stage encodes it.
    const typeId = piece.typeId ?? piece.sequence;
    for (let i = 0; i < text.length; i++) {
      ids.push(text[i]!);
      typeIds.push(typeId);
    }
  }
  return { ids, typeIds };
}

/** How `idRows` cuts a text too long for `budget`. */
export interface IdRowCut {
  /** Tokens left to the texts once the special tokens are added (at least 1). */
  budget: number;
  /** 'truncate': keep one row (longest_first); 'windows': every overflow window (only_first for a pair). */
  mode: 'truncate' | 'windows';
  stride: number;
  side: Side;
}

/**
 * The rows of a text (and pair) under `cut`, in `encodeBatch`'s order, or null for a case only the Encoding path
 * handles (it then throws the tokenizer's own error: a pair whose second text leaves the first no room). Window
 * ranges and a bad stride are checked now; each window's row is built when it is read.
 */
export function idRows(
  layout: readonly LayoutPiece[],
  first: Int32Array,
  second: Int32Array | null,
  cut: IdRowCut,
): Iterable<IdRow> | null {
  const secondLength = second?.length ?? 0;
  const { budget, side } = cut;
  if (first.length + secondLength <= budget) return [layoutIdRow(layout, first, second)];
  if (cut.mode === 'truncate') {
    // longest_first: a single text keeps `budget` tokens; a pair shares them by the Rust rule.
    const [keepFirst, keepSecond] =
      second === null ? [budget, 0] : longestFirstLengths(first.length, secondLength, budget);
    return [
      layoutIdRow(layout, keepSide(first, keepFirst, side), second && keepSide(second, keepSecond, side)),
    ];
  }
  // Windows over the first text; the second stays whole in every one (only_first).
  const room = budget - secondLength;
  if (room <= 0) return null;
  const ranges = eachWindowRange(first.length, room, cut.stride, side);
  return mapIterable(ranges, ([start, end]) => layoutIdRow(layout, first.subarray(start, end), second));
}

/** The first (right truncation) or last (left truncation) `count` tokens. */
function keepSide(ids: Int32Array, count: number, side: Side): Int32Array {
  if (count >= ids.length) return ids;
  return side === 'right' ? ids.subarray(0, count) : ids.subarray(ids.length - count);
}

function* mapIterable<T, U>(items: Iterable<T>, map: (item: T) => U): Generator<U> {
  for (const item of items) yield map(item);
}
