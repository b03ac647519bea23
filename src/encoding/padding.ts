/**
 * Padding of encodings, like the Rust core's `Encoding::pad` / `pad_encodings`: pads get the pad id and token,
 * type id `padTypeId`, attention 0, special-token mask 1, offsets [0, 0] and no word or sequence.
 */
import { Encoding } from './encoding.js';
import type { Side } from './truncation.js';

export interface PadToken {
  id: number;
  token: string;
  typeId: number;
}

/** 'longest' pads to the longest encoding of the batch; a number pads to that fixed length. */
export type PadTarget = 'longest' | number;

export interface PaddingParams {
  target: PadTarget;
  multipleOf: number | null;
  side: Side;
  pad: PadToken;
}

/** Rounds `length` up to a multiple of `multipleOf` (no change when null or 0). */
export function roundUpToMultiple(length: number, multipleOf: number | null): number {
  if (!multipleOf || length % multipleOf === 0) return length;
  return length + multipleOf - (length % multipleOf);
}

/** `values` with `count` copies of `fill` added on `side`, as a new array (one allocation, no pushes). */
function padded<T>(values: readonly T[], count: number, fill: T, side: Side): T[] {
  const n = values.length;
  const out = new Array<T>(n + count);
  const shift = side === 'left' ? count : 0;
  for (let i = 0; i < n; i++) out[i + shift] = values[i];
  const from = side === 'left' ? 0 : n;
  for (let i = 0; i < count; i++) out[from + i] = fill;
  return out;
}

/** Offsets with `count` fresh [0, 0] pairs added on `side`. */
function paddedOffsets(values: readonly [number, number][], count: number, side: Side): [number, number][] {
  const n = values.length;
  const out = new Array<[number, number]>(n + count);
  const shift = side === 'left' ? count : 0;
  for (let i = 0; i < n; i++) out[i + shift] = values[i];
  const from = side === 'left' ? 0 : n;
  for (let i = 0; i < count; i++) out[from + i] = [0, 0];
  return out;
}

/** Pads `encoding` (and its overflow windows) in place up to `targetLength`; longer encodings stay as they are. */
export function padEncoding(encoding: Encoding, targetLength: number, pad: PadToken, side: Side): void {
  for (const window of encoding.overflowing) padEncoding(window, targetLength, pad, side);
  const count = targetLength - encoding.length;
  if (count <= 0) return;
  encoding.ids = padded(encoding.ids, count, pad.id, side);
  encoding.typeIds = padded(encoding.typeIds, count, pad.typeId, side);
  encoding.tokens = padded(encoding.tokens, count, pad.token, side);
  encoding.words = padded<number | null>(encoding.words, count, null, side);
  encoding.offsets = paddedOffsets(encoding.offsets, count, side);
  encoding.specialTokensMask = padded(encoding.specialTokensMask, count, 1, side);
  encoding.attentionMask = padded(encoding.attentionMask, count, 0, side);
  if (side === 'left') {
    for (const [seq, [s, e]] of encoding.sequenceRanges)
      encoding.sequenceRanges.set(seq, [s + count, e + count]);
  }
}

/**
 * Pads a batch in place. The target is the fixed length or the longest encoding (overflow windows are never
 * longer than their first window), rounded up to `multipleOf`. Returns the target length.
 */
export function padEncodings(encodings: readonly Encoding[], params: PaddingParams): number {
  if (encodings.length === 0) return 0;
  let target = params.target === 'longest' ? 0 : params.target;
  if (params.target === 'longest') for (const e of encodings) target = Math.max(target, e.length);
  target = roundUpToMultiple(target, params.multipleOf);
  for (const encoding of encodings) padEncoding(encoding, target, params.pad, params.side);
  return target;
}
