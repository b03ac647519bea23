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

/** Pads `encoding` (and its overflow windows) in place up to `targetLength`; longer encodings stay as they are. */
export function padEncoding(encoding: Encoding, targetLength: number, pad: PadToken, side: Side): void {
  for (const window of encoding.overflowing) padEncoding(window, targetLength, pad, side);
  const count = targetLength - encoding.length;
  if (count <= 0) return;
  const fill = <T>(value: T): T[] => new Array<T>(count).fill(value);
  const offsets = Array.from({ length: count }, () => [0, 0] as [number, number]);
  if (side === 'right') {
    for (let i = 0; i < count; i++) {
      encoding.ids.push(pad.id);
      encoding.typeIds.push(pad.typeId);
      encoding.tokens.push(pad.token);
      encoding.words.push(null);
      encoding.offsets.push(offsets[i]);
      encoding.specialTokensMask.push(1);
      encoding.attentionMask.push(0);
    }
    return;
  }
  encoding.ids = fill(pad.id).concat(encoding.ids);
  encoding.typeIds = fill(pad.typeId).concat(encoding.typeIds);
  encoding.tokens = fill(pad.token).concat(encoding.tokens);
  encoding.words = fill<number | null>(null).concat(encoding.words);
  encoding.offsets = offsets.concat(encoding.offsets);
  encoding.specialTokensMask = fill(1).concat(encoding.specialTokensMask);
  encoding.attentionMask = fill(0).concat(encoding.attentionMask);
  for (const [seq, [s, e]] of encoding.sequenceRanges)
    encoding.sequenceRanges.set(seq, [s + count, e + count]);
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
