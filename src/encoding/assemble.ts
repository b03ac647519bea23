/**
 * One-pass post-processing and padding of a row whose post-processor has a fixed layout (special tokens around
 * the texts, type ids set per piece): the same Encoding `process` + `Encoding.concat` + `padEncoding` build, with
 * one allocation per field instead of intermediate encodings.
 */
import type { LayoutPiece } from '../tokenizers/post-processors/post-processor.js';
import { Encoding } from './encoding.js';
import type { PadToken } from './padding.js';
import type { Side } from './truncation.js';

/** Number of tokens of the processed row (before padding). */
export function layoutLength(
  layout: readonly LayoutPiece[],
  first: Encoding,
  second: Encoding | null,
): number {
  let n = 0;
  for (let p = 0; p < layout.length; p++) {
    const piece = layout[p]!;
    if (piece.kind === 'special') n += piece.ids.length;
    else n += piece.sequence === 0 ? first.ids.length : (second?.ids.length ?? 0);
  }
  return n;
}

/**
 * The processed row of `first` (and `second`) following `layout`, padded with `pad` on `side` up to
 * `targetLength` (no padding when the row is at least that long or `pad` is null). When the texts' offsets are
 * still flat the row's are too ([0, 0] for special and pad tokens), so no pair is made until someone reads them;
 * otherwise the texts' offset pairs are shared with the result (as `Encoding.concat` does) and special and pad
 * tokens get fresh [0, 0] pairs.
 */
export function assembleRow(
  layout: readonly LayoutPiece[],
  first: Encoding,
  second: Encoding | null,
  targetLength: number,
  pad: PadToken | null,
  side: Side,
): Encoding {
  const length = layoutLength(layout, first, second);
  const padCount = pad === null || targetLength <= length ? 0 : targetLength - length;
  const total = length + padCount;
  const ids = new Array<number>(total);
  const typeIds = new Array<number>(total);
  const tokens = new Array<string>(total);
  const words = new Array<number | null>(total);
  const firstFlat = first.flatOffsets();
  const secondFlat = second === null ? null : second.flatOffsets();
  const flat = firstFlat !== null && (second === null || secondFlat !== null);
  // Flat offsets start as zeros: special and pad tokens keep [0, 0].
  const flatOffsets: number[] = flat ? new Array<number>(2 * total).fill(0) : [];
  const offsets = flat ? [] : new Array<[number, number]>(total);
  const specialTokensMask = new Array<number>(total);
  const attentionMask = new Array<number>(total);
  const sequenceRanges = new Map<number, [number, number]>();

  let k = side === 'left' ? padCount : 0;
  for (let p = 0; p < layout.length; p++) {
    const piece = layout[p]!;
    if (piece.kind === 'special') {
      const pieceIds = piece.ids;
      for (let j = 0; j < pieceIds.length; j++, k++) {
        ids[k] = pieceIds[j]!;
        typeIds[k] = piece.typeId;
        tokens[k] = piece.tokens[j]!;
        words[k] = null;
        if (!flat) offsets[k] = [0, 0];
        specialTokensMask[k] = 1;
        attentionMask[k] = 1;
      }
      continue;
    }
    const text = piece.sequence === 0 ? first : second;
    if (text === null) continue;
    const n = text.ids.length;
    sequenceRanges.set(piece.sequence, [k, k + n]);
    const typeId = piece.typeId;
    const { ids: textIds, typeIds: textTypes, tokens: textTokens, words: textWords } = text;
    const textSpecial = text.specialTokensMask;
    const textAttention = text.attentionMask;
    if (flat) {
      const textFlat = (piece.sequence === 0 ? firstFlat : secondFlat) as readonly number[];
      for (let j = 0; j < 2 * n; j++) flatOffsets[2 * k + j] = textFlat[j]!;
    } else {
      const textOffsets = text.offsets;
      for (let j = 0; j < n; j++) offsets[k + j] = textOffsets[j]!;
    }
    for (let j = 0; j < n; j++, k++) {
      ids[k] = textIds[j]!;
      typeIds[k] = typeId === null ? textTypes[j]! : typeId;
      tokens[k] = textTokens[j]!;
      words[k] = textWords[j]!;
      specialTokensMask[k] = textSpecial[j]!;
      attentionMask[k] = textAttention[j]!;
    }
  }
  if (padCount > 0) {
    const p = pad as PadToken;
    const from = side === 'left' ? 0 : length;
    for (let i = from; i < from + padCount; i++) {
      ids[i] = p.id;
      typeIds[i] = p.typeId;
      tokens[i] = p.token;
      words[i] = null;
      if (!flat) offsets[i] = [0, 0];
      specialTokensMask[i] = 1;
      attentionMask[i] = 0;
    }
  }
  if (flat) {
    return Encoding.withFlatOffsets(
      ids,
      typeIds,
      tokens,
      words,
      flatOffsets,
      specialTokensMask,
      attentionMask,
      sequenceRanges,
    );
  }
  return new Encoding(
    ids,
    typeIds,
    tokens,
    words,
    offsets,
    specialTokensMask,
    attentionMask,
    [],
    sequenceRanges,
  );
}
