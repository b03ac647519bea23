/** BertProcessing: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, type id 1 for the second text and its [SEP]. */
import type { Encoding } from '../../encoding/encoding.js';
import { field, type JsonObject } from '../registry.js';
import { BasePostProcessor, keepLayout, specialTokensEncoding, type LayoutPiece } from './post-processor.js';
import { readTokenPair, type SpecialTokenPair } from './token-pair.js';

export class BertProcessing extends BasePostProcessor {
  readonly type = 'BertProcessing';

  constructor(
    readonly sep: SpecialTokenPair,
    readonly cls: SpecialTokenPair,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): BertProcessing {
    return new BertProcessing(
      readTokenPair(field.array(json, 'sep', path), `${path}.sep`),
      readTokenPair(field.array(json, 'cls', path), `${path}.cls`),
    );
  }

  addedTokens(isPair: boolean): number {
    return isPair ? 3 : 2;
  }

  layout(isPair: boolean, addSpecialTokens: boolean): readonly LayoutPiece[] {
    if (!addSpecialTokens) return keepLayout(isPair);
    const special = (pair: SpecialTokenPair, typeId: number): LayoutPiece => ({
      kind: 'special',
      ids: [pair.id],
      tokens: [pair.token],
      typeId,
    });
    const single: LayoutPiece[] = [
      special(this.cls, 0),
      { kind: 'sequence', sequence: 0, typeId: 0 },
      special(this.sep, 0),
    ];
    if (!isPair) return single;
    return [...single, { kind: 'sequence', sequence: 1, typeId: 1 }, special(this.sep, 1)];
  }

  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    if (!addSpecialTokens) return encodings;
    const [first, second] = encodings;
    const parts = [
      specialTokensEncoding([this.cls.id], [this.cls.token], 0),
      first,
      specialTokensEncoding([this.sep.id], [this.sep.token], 0),
    ];
    if (second) parts.push(second, specialTokensEncoding([this.sep.id], [this.sep.token], 1));
    return parts;
  }
}
