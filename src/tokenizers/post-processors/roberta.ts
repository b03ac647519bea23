/**
 * RobertaProcessing: `<s> A </s>` and `<s> A </s></s> B </s>`, every type id 0 (also without special tokens),
 * with the ByteLevel offset trimming when `trim_offsets` is set.
 */
import type { Encoding } from '../../encoding/encoding.js';
import { field, type JsonObject } from '../registry.js';
import { trimByteLevelOffsets } from './byte-level.js';
import { BasePostProcessor, specialTokensEncoding, type LayoutPiece } from './post-processor.js';
import { readTokenPair, type SpecialTokenPair } from './token-pair.js';

export class RobertaProcessing extends BasePostProcessor {
  readonly type = 'RobertaProcessing';

  constructor(
    readonly sep: SpecialTokenPair,
    readonly cls: SpecialTokenPair,
    readonly trimOffsets = true,
    readonly addPrefixSpace = true,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): RobertaProcessing {
    return new RobertaProcessing(
      readTokenPair(field.array(json, 'sep', path), `${path}.sep`),
      readTokenPair(field.array(json, 'cls', path), `${path}.cls`),
      field.boolean(json, 'trim_offsets', path, true),
      field.boolean(json, 'add_prefix_space', path, true),
    );
  }

  addedTokens(isPair: boolean): number {
    return isPair ? 4 : 2;
  }

  /** Only without offset trimming (trimming rewrites offsets, which `process` does). */
  layout(isPair: boolean, addSpecialTokens: boolean): readonly LayoutPiece[] | null {
    return this.trimOffsets ? null : this.idLayout(isPair, addSpecialTokens);
  }

  /** Offset trimming leaves ids and type ids alone. */
  idLayout(isPair: boolean, addSpecialTokens: boolean): readonly LayoutPiece[] {
    const first: LayoutPiece = { kind: 'sequence', sequence: 0, typeId: 0 };
    const second: LayoutPiece = { kind: 'sequence', sequence: 1, typeId: 0 };
    if (!addSpecialTokens) return isPair ? [first, second] : [first];
    const cls: LayoutPiece = { kind: 'special', ids: [this.cls.id], tokens: [this.cls.token], typeId: 0 };
    const sep: LayoutPiece = { kind: 'special', ids: [this.sep.id], tokens: [this.sep.token], typeId: 0 };
    return isPair ? [cls, first, sep, sep, second, sep] : [cls, first, sep];
  }

  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    for (const encoding of encodings) {
      if (this.trimOffsets) trimByteLevelOffsets(encoding, this.addPrefixSpace);
      encoding.setTypeIds(0);
    }
    if (!addSpecialTokens) return encodings;
    const [first, second] = encodings;
    const sep = () => specialTokensEncoding([this.sep.id], [this.sep.token], 0);
    const parts = [specialTokensEncoding([this.cls.id], [this.cls.token], 0), first, sep()];
    if (second) parts.push(sep(), second, sep());
    return parts;
  }
}
