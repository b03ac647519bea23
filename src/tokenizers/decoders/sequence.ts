import { BaseDecoder, type Decoder } from './decoder.js';

/** Sequence: feeds the token chain through each decoder in turn. */
export class SequenceDecoder extends BaseDecoder {
  readonly type = 'Sequence';

  constructor(readonly decoders: Decoder[]) {
    super();
  }

  decodeChain(tokens: string[]): string[] {
    let chain = tokens;
    for (const decoder of this.decoders) chain = decoder.decodeChain(chain);
    return chain;
  }
}
