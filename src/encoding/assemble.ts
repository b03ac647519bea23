/**
 * One-pass post-processing and padding of a row whose post-processor has a fixed layout (special tokens around
 * the texts, type ids set per piece): the Encoding that `sequenceEncoding` + post-processor `process` +
 * `padEncoding` would build, with one allocation per field and no intermediate encodings. Offsets stay flat
 * (special and pad tokens [0, 0]) until someone reads `Encoding.offsets`.
 */
import type { LayoutPiece } from '../tokenizers/post-processors/post-processor.js';
import { Encoding } from './encoding.js';
import type { PadToken } from './padding.js';
import type { SequenceTokens } from './sequence-tokens.js';
import type { Side } from './truncation.js';

/** Number of tokens of the processed row (before padding). */
export function layoutLength(
  layout: readonly LayoutPiece[],
  first: SequenceTokens,
  second: SequenceTokens | null,
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
 * The processed row of `first` (type id 0) and `second` (type id 1, or null) following `layout`, padded with `pad`
 * on `side` up to `targetLength` (no padding when the row is at least that long or `pad` is null).
 */
export function assembleRow(
  layout: readonly LayoutPiece[],
  first: SequenceTokens,
  second: SequenceTokens | null,
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
  // Zeros: special and pad tokens keep [0, 0].
  const offsets = new Array<number>(2 * total).fill(0);
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
        specialTokensMask[k] = 1;
        attentionMask[k] = 1;
      }
      continue;
    }
    const text = piece.sequence === 0 ? first : second;
    if (text === null) continue;
    const n = text.ids.length;
    sequenceRanges.set(piece.sequence, [k, k + n]);
    // A text's own type id is its position (0 or 1), as the single-sequence stage encodes it.
    const typeId = piece.typeId ?? piece.sequence;
    const { ids: textIds, tokens: textTokens, words: textWords, offsets: textOffsets } = text;
    for (let j = 0; j < 2 * n; j++) offsets[2 * k + j] = textOffsets[j]!;
    for (let j = 0; j < n; j++, k++) {
      ids[k] = textIds[j]!;
      typeIds[k] = typeId;
      tokens[k] = textTokens[j]!;
      words[k] = textWords[j]!;
      specialTokensMask[k] = 0;
      attentionMask[k] = 1;
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
      specialTokensMask[i] = 1;
      attentionMask[i] = 0;
    }
  }
  return Encoding.withFlatOffsets(
    ids,
    typeIds,
    tokens,
    words,
    offsets,
    specialTokensMask,
    attentionMask,
    sequenceRanges,
  );
}
